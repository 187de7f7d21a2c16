/**
 * `compareWithTruth` (scripts/lib/convergence.ts) for many accounts with ONE read of `events`: the chaos run
 * polls this every second or two while it waits for convergence, and on FerretDB (SQLite) every
 * query by `accountId` scans the whole collection, so one query per account would load the server
 * it is measuring. Same rules (`divergence`) as `compareWithTruth`, which still gives the final verdict.
 */
import type { Db } from 'mongodb';
import {
  type ComparedDoc,
  type Divergence,
  divergence,
  type TruthScope,
} from '../../../scripts/lib/convergence.js';
import type { CronofySimulator } from '../../../src/simulator/index.js';
import type { EventDoc } from '../../../src/store/event-mapping.js';

type Compared = ComparedDoc & Pick<EventDoc, 'accountId'>;

export async function compareManyWithTruth(
  db: Db,
  sim: CronofySimulator,
  accountIds: readonly string[],
  scopeOf: (accountId: string) => TruthScope = () => ({}),
): Promise<Map<string, Divergence>> {
  const docs = await db
    .collection<EventDoc>('events')
    .find(
      { accountId: { $in: [...accountIds] } },
      {
        projection: {
          _id: 0,
          accountId: 1,
          eventUid: 1,
          deleted: 1,
          summary: 1,
          start: 1,
          end: 1,
          calendarId: 1,
        },
      },
    )
    .toArray();
  const byAccount = new Map<string, Map<string, Compared>>();
  for (const id of accountIds) byAccount.set(id, new Map());
  for (const d of docs as Compared[]) byAccount.get(d.accountId)?.set(d.eventUid, d);

  const out = new Map<string, Divergence>();
  for (const accountId of accountIds) {
    out.set(
      accountId,
      divergence(
        sim.truth(accountId, { includeDeleted: true }),
        byAccount.get(accountId)!,
        scopeOf(accountId),
      ),
    );
  }
  return out;
}
