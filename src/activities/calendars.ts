/**
 * Refreshes the `calendars` collection from Cronofy's List Calendars. Called at the start of every
 * fresh full sync (the one at registration included) and by `profileStates` on profile pushes.
 *
 * Only the calendar documents change: a calendar that is deleted or no longer listed is marked
 * (../store/calendars-repo.ts) and its events are left to Read Events, like any other event.
 *
 * A 4xx answer (other than a revoked authorization or rate limiting) is not the sync's failure:
 * Cronofy refusing the list (an authorization without the scope it wants, say) must not stop the
 * events from syncing, and retrying would get the same answer. The calendars then stay as they
 * were, and the refresh says so. Anything else (outage, 401, 429) fails the caller, which retries.
 */
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import { CronofyClientError } from '../cronofy/errors.js';
import type { CalendarsRefreshResult, CalendarsRepo } from '../store/calendars-repo.js';

export type CalendarsRefresh =
  | ({ outcome: 'refreshed' } & CalendarsRefreshResult)
  | { outcome: 'refused'; status: number | null };

export async function refreshCalendars(
  deps: {
    calendars: Pick<CalendarsRepo, 'refresh'>;
    now: () => Date;
    /** Throws when the caller was cancelled: checked before the write. */
    stillRunning?: () => void;
  },
  accountId: string,
  client: Pick<CronofyClient, 'listCalendars'>,
  auth: AccountAuth,
): Promise<CalendarsRefresh> {
  // Taken before the request: a refresh that asked later holds the newer list (the ordering key).
  const listedAt = deps.now();
  let listed: Awaited<ReturnType<CronofyClient['listCalendars']>>;
  try {
    listed = await client.listCalendars(auth);
  } catch (err) {
    // Revoked authorizations and 429s have classes of their own: they still fail the caller.
    if (!(err instanceof CronofyClientError)) throw err;
    return { outcome: 'refused', status: err.status ?? null };
  }
  deps.stillRunning?.();
  return { outcome: 'refreshed', ...(await deps.calendars.refresh(accountId, listed, listedAt)) };
}
