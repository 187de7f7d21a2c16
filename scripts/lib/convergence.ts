/**
 * Compares the `events` collection with the simulator's ground truth for one account:
 * missing (Cronofy has a live event we lack or hold as deleted), stale (we hold different
 * content), phantom (we hold a live event Cronofy does not have live).
 *
 * The truth is every event of the account's registered calendars wherever it is now: an event
 * moved out of the sync window (past +201 d or before -42 d) is expected live at its new times,
 * because every read asks for `include_moved` (docs/events-schema.md). Given `calendarIds` (the
 * account registered with a calendar filter), events of other calendars are not expected; a live
 * copy we still hold of one is counted apart, in `unregistered`, not as a phantom: only a full sync
 * tombstones the events of a calendar taken out of the filter (see the chaos scenario's report).
 */
import type { Db } from 'mongodb';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import type { CronofySimulator } from '../../src/simulator/index.js';
import type { EventDoc } from '../../src/store/event-mapping.js';

export interface Divergence {
  missing: string[];
  stale: string[];
  phantom: string[];
  /** Only with a calendar filter: live copies of events of calendars not registered (any content). */
  unregistered?: string[];
}

/** Which calendars count: `calendarIds` undefined or null = all of the account's calendars. */
export interface TruthScope {
  calendarIds?: readonly string[] | null;
}

/** The fields the comparison looks at. */
export type ComparedDoc = Pick<EventDoc, 'eventUid' | 'deleted' | 'summary' | 'start' | 'end' | 'calendarId'>;

/** The rules, pure: one account's Cronofy truth (tombstones included) against its stored documents. */
export function divergence(
  truth: readonly CronofyEvent[],
  byUid: ReadonlyMap<string, ComparedDoc>,
  scope: TruthScope = {},
): Divergence {
  const registered = scope.calendarIds ? new Set(scope.calendarIds) : undefined;
  const out: Divergence = {
    missing: [],
    stale: [],
    phantom: [],
    ...(registered ? { unregistered: [] } : {}),
  };
  const liveTruth = new Set<string>();
  for (const e of truth) {
    if (registered && !registered.has(e.calendar_id)) continue;
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
  for (const d of byUid.values()) {
    if (d.deleted || liveTruth.has(d.eventUid)) continue;
    if (registered && !registered.has(d.calendarId)) out.unregistered!.push(d.eventUid);
    else out.phantom.push(d.eventUid);
  }
  out.phantom = [...new Set(out.phantom)];
  return out;
}

export async function compareWithTruth(
  db: Db,
  sim: CronofySimulator,
  accountId: string,
  scope: TruthScope = {},
): Promise<Divergence> {
  const docs = await db.collection<EventDoc>('events').find({ accountId }).toArray();
  return divergence(
    sim.truth(accountId, { includeDeleted: true }),
    new Map(docs.map((d) => [d.eventUid, d])),
    scope,
  );
}

export const converged = (d: Divergence): boolean =>
  d.missing.length + d.stale.length + d.phantom.length === 0;
