/**
 * Bookkeeping activities: what the workflow reads of the registration, and what it records about
 * the account (its channel, its state, the end of a deregistration). MongoDB only, except that a
 * purge also revokes the account's Cronofy authorization.
 */

import type { DataCenter } from '../cronofy/types.js';
import type { SyncState } from '../domain.js';
import { purgeAccount } from '../store/account-purge.js';
import type { AccountsRepo } from '../store/accounts-repo.js';
import type { CalendarsRepo } from '../store/calendars-repo.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { SyncRunsRepo } from '../store/sync-runs-repo.js';
import type { AccountLog } from '../webhooks/account-log.js';
import type { AccountInfoResult } from '../workflows/messages.js';

export function bookkeepingActivities(deps: {
  accounts: AccountsRepo;
  events: EventsRepo;
  calendars: CalendarsRepo;
  syncRuns: SyncRunsRepo;
  revokeToken(dataCenter: DataCenter, token: string): Promise<void>;
  /** State transitions for `account.updated` webhooks (../webhooks/account-log.ts). */
  accountLog?: AccountLog;
}) {
  return {
    async loadAccount({ accountId }: { accountId: string }): Promise<AccountInfoResult> {
      const a = await deps.accounts.get(accountId);
      if (!a || a.deregisteredAt) return { registered: false };
      return {
        registered: true,
        dataCenter: a.dataCenter,
        calendarIds: a.calendarIds,
        channelId: a.channelId || null,
      };
    },

    async recordChannel(input: { accountId: string; channelId: string | null }): Promise<void> {
      await deps.accounts.setChannel(input.accountId, input.channelId);
    },

    async recordAccountState(input: { accountId: string; state: SyncState }): Promise<void> {
      await deps.accounts.setState(input.accountId, input.state);
      await deps.accountLog?.stateRecorded(input.accountId, input.state);
    },

    /** After the registration's calendars narrowed: the others' events become tombstones. */
    async tombstoneOtherCalendars(input: { accountId: string; keepCalendarIds: string[] }): Promise<number> {
      return deps.events.tombstoneOtherCalendars(input.accountId, input.keepCalendarIds, new Date());
    },

    async finishDeregistration(input: { accountId: string; purge: boolean }): Promise<void> {
      await deps.accounts.markDeregistered(input.accountId);
      // After the workflow closed the channel: revokes the authorization, then deletes the events,
      // the calendars, the sync runs and the account (../store/account-purge.ts).
      if (input.purge) await purgeAccount(deps, input.accountId);
    },
  };
}
