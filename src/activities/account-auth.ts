/**
 * Per-call OAuth token source for the Cronofy client. Tokens are read from MongoDB (decrypted) when
 * needed and refreshed on 401; the rotated refresh token is always stored. Tokens never leave the
 * activity: not in results, heartbeats or logs.
 */
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import { CronofyAuthRevokedError } from '../cronofy/errors.js';
import type { AccountsRepo, PlainTokens } from '../store/accounts-repo.js';
import { accountNotRegistered } from './failures.js';

/** Refresh this long before the recorded expiry, so a request never starts with a dying token. */
export const EXPIRY_MARGIN_MS = 60_000;

export interface AccountAuthOptions {
  /** Clock, for the expiry check. */
  now?: () => number;
  /** How long a failing write of refreshed tokens is retried before the refresh fails. */
  storeBudgetMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * From the moment Cronofy answers a refresh, the new tokens exist only in this process: Cronofy may
 * have rotated the refresh token, so the one in MongoDB may already be refused. A write that fails
 * then (MongoDB restarting or failing over, a stale pooled connection, a busy server) is retried
 * for this long rather than failing the activity, whose retry would find only the refused token and
 * leave the account needing re-authorization. Longer than the sync activity's 30 s heartbeat
 * timeout on purpose: if Temporal starts another attempt meanwhile, that one finds the old token
 * refused and fails as an auth error (the workflow retries a minute later), by which time this
 * write has landed; giving up instead would lose the account. The write is conditional on the
 * token version, so repeating it is safe.
 */
export const STORE_REFRESHED_BUDGET_MS = 120_000;

async function persistRefreshed(
  write: () => Promise<boolean>,
  budgetMs: number,
  sleep: (ms: number) => Promise<void>,
): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  let delay = 250;
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

export function accountAuth(
  accounts: Pick<AccountsRepo, 'tokens' | 'storeRefreshed'>,
  client: Pick<CronofyClient, 'refreshToken'>,
  accountId: string,
  opts: AccountAuthOptions = {},
): AccountAuth {
  const storeBudgetMs = opts.storeBudgetMs ?? STORE_REFRESHED_BUDGET_MS;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let tokens: PlainTokens | null = null;
  const load = async (): Promise<PlainTokens> => {
    tokens = await accounts.tokens(accountId);
    if (!tokens) throw accountNotRegistered(accountId);
    return tokens;
  };
  const auth: AccountAuth = {
    getAccessToken: async () => {
      const t = tokens ?? (await load());
      // Known to be expired (or about to): refresh first. Sending it anyway costs a 401 round trip
      // on every wake-up of an idle account, which sleeps far longer than a token lives.
      const expiresAt = t.accessTokenExpiresAt?.getTime();
      if (expiresAt !== undefined && expiresAt - EXPIRY_MARGIN_MS <= now()) return auth.refresh();
      return t.accessToken;
    },
    refresh: async () => {
      // Re-read first: another worker or a re-authorization may have stored newer tokens.
      const current = await load();
      let res: Awaited<ReturnType<CronofyClient['refreshToken']>>;
      try {
        res = await client.refreshToken(current.refreshToken);
      } catch (err) {
        // A refresh token we read a moment ago was rotated by someone else meanwhile: use theirs.
        if (err instanceof CronofyAuthRevokedError) {
          const latest = await load();
          if (latest.tokenVersion !== current.tokenVersion) return latest.accessToken;
        }
        throw err;
      }
      const fresh = {
        accessToken: res.access_token,
        refreshToken: res.refresh_token ?? current.refreshToken,
        expiresInSec: res.expires_in,
      };
      // Conditional on the version read: `false` when someone else stored newer tokens first, or
      // when an earlier try of this write applied but its answer was lost; either way the stored
      // tokens are the ones to use.
      const stored = await persistRefreshed(
        () => accounts.storeRefreshed(accountId, current.tokenVersion, fresh),
        storeBudgetMs,
        sleep,
      );
      if (!stored) return (await load()).accessToken;
      tokens = {
        accessToken: fresh.accessToken,
        refreshToken: fresh.refreshToken,
        tokenVersion: current.tokenVersion + 1,
        accessTokenExpiresAt: fresh.expiresInSec ? new Date(now() + fresh.expiresInSec * 1000) : null,
      };
      return res.access_token;
    },
  };
  return auth;
}
