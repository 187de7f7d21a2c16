/**
 * Read Events parameters for each sync kind: the window, `last_modified`, the calendars, and the
 * flags every read sends. Pure.
 */
import type { ReadEventsParams } from '../cronofy/types.js';
import { fullSyncWindow, windowEdgeWindow } from '../cronofy/window.js';
import type { AccountInfo } from '../store/accounts-repo.js';
import type { SyncInput } from '../workflows/messages.js';

/** Read Events parameters for a sync kind. Pure. */
export function readParams(
  input: SyncInput,
  account: Pick<AccountInfo, 'calendarIds'>,
  startedAt: Date,
): ReadEventsParams {
  const base: ReadEventsParams = {
    tzid: 'Etc/UTC',
    includeDeleted: true,
    // The application's own (managed) events are part of the user's calendar too.
    includeManaged: true,
    // Without it Cronofy returns only events inside from/to now: a change that moves an event
    // out of the window is never read, our copy stays at the old time and a full sync tombstones
    // a live event. With it, events that were ever inside come back with their new times.
    includeMoved: true,
    // A backfill reads only the calendars it was asked for; everything else the registered ones.
    ...(input.calendarIds?.length
      ? { calendarIds: input.calendarIds }
      : account.calendarIds?.length
        ? { calendarIds: account.calendarIds }
        : {}),
  };
  switch (input.kind) {
    case 'full': {
      const w = fullSyncWindow(startedAt.getTime());
      return { ...base, from: w.from, to: w.to };
    }
    case 'window_edge': {
      const w = windowEdgeWindow(startedAt.getTime(), input.windowReadTo);
      return { ...base, from: w.from, to: w.to };
    }
    default: {
      // Incremental and catch-up read the whole window, filtered by last_modified.
      const w = fullSyncWindow(startedAt.getTime());
      return {
        ...base,
        from: w.from,
        to: w.to,
        ...(input.lastModified ? { lastModified: input.lastModified } : {}),
      };
    }
  }
}
