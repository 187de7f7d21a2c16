/**
 * The account's calendar profiles as Cronofy reports them (`GET /v1/userinfo`): which are still
 * connected, and the link that lets the user re-authorize one that is not. Read on profile pushes
 * and at registration, so the status shows what Cronofy says rather than what a push implied.
 */
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import type { AccountInfo } from '../store/accounts-repo.js';
import type { ProfileState } from '../workflows/messages.js';
import { withCronofyFailures } from './failures.js';

export interface ProfileDeps {
  liveAccount(accountId: string): Promise<AccountInfo>;
  cronofyFor(
    account: Pick<AccountInfo, 'accountId' | 'dataCenter'>,
    priority: 'urgent' | 'background',
  ): { client: CronofyClient; auth: AccountAuth };
}

export function profileActivities(deps: ProfileDeps) {
  return {
    async profileStates({ accountId }: { accountId: string }): Promise<ProfileState[]> {
      const account = await deps.liveAccount(accountId);
      const { client, auth } = deps.cronofyFor(account, 'background');
      const info = await withCronofyFailures(() => client.userInfo(auth));
      // Only what the status shows: no calendars, no tokens (this result is kept in history).
      return (info['cronofy.data']?.profiles ?? []).map((p) => ({
        profileId: p.profile_id,
        profileName: p.profile_name ?? null,
        providerName: p.provider_name,
        connected: p.profile_connected !== false,
        relinkUrl: p.profile_connected === false ? (p.profile_relink_url ?? null) : null,
        initialSyncRequired: p.profile_initial_sync_required === true,
      }));
    },
  };
}
