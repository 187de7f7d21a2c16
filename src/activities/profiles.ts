/**
 * The account's calendar profiles as Cronofy reports them (`GET /v1/userinfo`): which are still
 * connected, and the link that lets the user re-authorize one that is not. Read on profile pushes
 * and at registration, so the status shows what Cronofy says rather than what a push implied.
 * A profile push may also mean calendars came or went with the profile: the calendars are
 * refreshed here too (./calendars.ts), from List Calendars, which has every field UserInfo's
 * `profile_calendars` has and the profile's identity besides.
 */
import { Context } from '@temporalio/activity';
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import type { AccountInfo } from '../store/accounts-repo.js';
import type { CalendarsRepo } from '../store/calendars-repo.js';
import type { AccountLog } from '../webhooks/account-log.js';
import type { ProfileState } from '../workflows/messages.js';
import { refreshCalendars } from './calendars.js';
import { withCronofyFailures } from './failures.js';

export interface ProfileDeps {
  liveAccount(accountId: string): Promise<AccountInfo>;
  cronofyFor(
    account: Pick<AccountInfo, 'accountId' | 'dataCenter'>,
    priority: 'urgent' | 'background',
  ): { client: CronofyClient; auth: AccountAuth };
  calendars: CalendarsRepo;
  now: () => Date;
  /** Profile connection changes for `account.updated` webhooks (../webhooks/account-log.ts). */
  accountLog?: AccountLog;
}

export function profileActivities(deps: ProfileDeps) {
  return {
    async profileStates({ accountId }: { accountId: string }): Promise<ProfileState[]> {
      const account = await deps.liveAccount(accountId);
      const { client, auth } = deps.cronofyFor(account, 'background');
      const info = await withCronofyFailures(() => client.userInfo(auth));
      const r = await withCronofyFailures(() => refreshCalendars(deps, accountId, client, auth));
      if (r.outcome === 'refused') {
        Context.current().log.warn('List Calendars refused; calendars not refreshed', { status: r.status });
      }
      // Only what the status shows: no calendars, no tokens (this result is kept in history).
      const profiles = (info['cronofy.data']?.profiles ?? []).map((p) => ({
        profileId: p.profile_id,
        profileName: p.profile_name ?? null,
        providerName: p.provider_name,
        connected: p.profile_connected !== false,
        relinkUrl: p.profile_connected === false ? (p.profile_relink_url ?? null) : null,
        initialSyncRequired: p.profile_initial_sync_required === true,
      }));
      await deps.accountLog?.profilesRead(accountId, account.state, profiles);
      return profiles;
    },
  };
}
