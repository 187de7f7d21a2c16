/**
 * Compares the `events` collection with the simulator's ground truth for one account:
 * missing (Cronofy has a live event we lack or hold as deleted), stale (we hold different
 * content), phantom (we hold a live event Cronofy does not have live).
 */
import type { Db } from 'mongodb';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import type { CronofySimulator } from '../../src/simulator/index.js';
import type { EventDoc } from '../../src/store/event-mapping.js';

export interface Divergence {
  missing: string[];
  stale: string[];
  phantom: string[];
}

/** The fields the comparison looks at. */
export type ComparedDoc = Pick<EventDoc, 'eventUid' | 'deleted' | 'summary' | 'start' | 'end' | 'calendarId'>;

/** The rules, pure: one account's Cronofy truth (tombstones included) against its stored documents. */
export function divergence(
  truth: readonly CronofyEvent[],
  byUid: ReadonlyMap<string, ComparedDoc>,
): Divergence {
  const out: Divergence = { missing: [], stale: [], phantom: [] };
  const liveTruth = new Set<string>();
  for (const e of truth) {
    const d = byUid.get(e.event_uid);
    if (e.deleted) {
      if (d && !d.deleted) out.phantom.push(e.event_uid);
      continue;
    }
    liveTruth.add(e.event_uid);
    if (!d || d.deleted) {
      out.missing.push(e.event_uid);
      continue;
    }
    if (
      d.summary !== (e.summary ?? null) ||
      JSON.stringify(d.start) !== JSON.stringify(e.start) ||
      JSON.stringify(d.end) !== JSON.stringify(e.end) ||
      d.calendarId !== e.calendar_id
    ) {
      out.stale.push(e.event_uid);
    }
  }
  for (const d of byUid.values()) if (!d.deleted && !liveTruth.has(d.eventUid)) out.phantom.push(d.eventUid);
  out.phantom = [...new Set(out.phantom)];
  return out;
}

export async function compareWithTruth(
  db: Db,
  sim: CronofySimulator,
  accountId: string,
): Promise<Divergence> {
  const docs = await db.collection<EventDoc>('events').find({ accountId }).toArray();
  return divergence(
    sim.truth(accountId, { includeDeleted: true }),
    new Map(docs.map((d) => [d.eventUid, d])),
  );
}

export const converged = (d: Divergence): boolean =>
  d.missing.length + d.stale.length + d.phantom.length === 0;
