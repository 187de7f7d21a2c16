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
import { storedEventsByAccount } from '../stored-events.js';

type Compared = ComparedDoc & Pick<EventDoc, 'accountId'>;

export async function compareManyWithTruth(
  db: Db,
  sim: CronofySimulator,
  accountIds: readonly string[],
  scopeOf: (accountId: string) => TruthScope = () => ({}),
): Promise<Map<string, Divergence>> {
  const byAccount = await storedEventsByAccount(db, accountIds, [
    'deleted',
    'summary',
    'start',
    'end',
    'calendarId',
  ]);

  const out = new Map<string, Divergence>();
  for (const accountId of accountIds) {
    out.set(
      accountId,
      divergence(
        sim.truth(accountId, { includeDeleted: true }),
        byAccount.get(accountId) as Map<string, Compared>,
        scopeOf(accountId),
      ),
    );
  }
  return out;
}
