/**
 * The `events` documents of many accounts in ONE query, grouped by account and event uid: what the
 * benchmarks' and the chaos run's comparisons read (one query per account would load FerretDB,
 * which scans for each, while it is being measured).
 */
import type { Db } from 'mongodb';
import type { EventDoc } from '../../src/store/event-mapping.js';

export async function storedEventsByAccount<K extends keyof EventDoc>(
  db: Db,
  accountIds: readonly string[],
  fields: readonly K[],
): Promise<Map<string, Map<string, Pick<EventDoc, K | 'accountId' | 'eventUid'>>>> {
  const projection: Record<string, 0 | 1> = { _id: 0, accountId: 1, eventUid: 1 };
  for (const f of fields) projection[f] = 1;
  const docs = (await db
    .collection<EventDoc>('events')
    .find({ accountId: { $in: [...accountIds] } }, { projection })
    .toArray()) as Pick<EventDoc, K | 'accountId' | 'eventUid'>[];
  const byAccount = new Map<string, Map<string, Pick<EventDoc, K | 'accountId' | 'eventUid'>>>();
  for (const id of accountIds) byAccount.set(id, new Map());
  for (const d of docs) byAccount.get(d.accountId)?.set(d.eventUid, d);
  return byAccount;
}
