/**
 * `DELETE /accounts/:id?purge=true`: everything we hold about an account goes, and its Cronofy
 * authorization is revoked. Shared by the workflow's last step (bookkeeping activity) and the admin
 * API (an account already deregistered is purged at once).
 *
 * Order: revoke first, while the tokens are still stored; a Cronofy outage (5xx, network) throws
 * before anything is deleted, so a retry finds everything in place. A 4xx from the revocation
 * means Cronofy no longer knows the token (already revoked): the purge goes on and says so. Every
 * step is idempotent, so a purge interrupted half-way finishes on its retry.
 */
import { CronofyClientError } from '../cronofy/errors.js';
import type { DataCenter } from '../cronofy/types.js';
import type { AccountsRepo } from './accounts-repo.js';
import type { CalendarsRepo } from './calendars-repo.js';
import type { EventsRepo } from './events-repo.js';
import type { SyncRunsRepo } from './sync-runs-repo.js';

export interface PurgeDeps {
  accounts: Pick<AccountsRepo, 'get' | 'tokens' | 'delete'>;
  events: Pick<EventsRepo, 'deleteAccount'>;
  calendars: Pick<CalendarsRepo, 'deleteAccount'>;
  syncRuns: Pick<SyncRunsRepo, 'deleteAccount'>;
  /** Cronofy's `POST /oauth/token/revoke` at the account's data center. */
  revokeToken(dataCenter: DataCenter, token: string): Promise<void>;
}

export interface PurgeResult {
  /** `revoked`: Cronofy ended the authorization now; `already_revoked`: it no longer knew the token; `none`: no tokens stored (purged before). */
  authorization: 'revoked' | 'already_revoked' | 'none';
  events: number;
  calendars: number;
  syncRuns: number;
  account: boolean;
}

export async function purgeAccount(deps: PurgeDeps, accountId: string): Promise<PurgeResult> {
  const account = await deps.accounts.get(accountId);
  const tokens = account ? await deps.accounts.tokens(accountId) : null;
  let authorization: PurgeResult['authorization'] = 'none';
  if (account && tokens) {
    try {
      // The refresh token: revoking it ends the whole authorization, access tokens included.
      await deps.revokeToken(account.dataCenter, tokens.refreshToken);
      authorization = 'revoked';
    } catch (err) {
      if (!(err instanceof CronofyClientError)) throw err;
      authorization = 'already_revoked';
    }
  }
  const events = await deps.events.deleteAccount(accountId);
  const calendars = await deps.calendars.deleteAccount(accountId);
  const syncRuns = await deps.syncRuns.deleteAccount(accountId);
  const deleted = await deps.accounts.delete(accountId);
  return { authorization, events, calendars, syncRuns, account: deleted };
}
