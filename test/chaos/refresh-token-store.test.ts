/**
 * Regression found by the chaos run: Cronofy rotates the refresh token on a refresh, so when
 * storing the new tokens failed (MongoDB restarting at that moment) the activity's retry found only
 * the old, now refused, refresh token: `invalid_grant`, and the account needed re-authorization.
 * The write is now retried for a while (STORE_REFRESHED_BUDGET_MS) before the refresh fails.
 */
import { describe, expect, it } from 'vitest';
import { accountAuth } from '../../src/activities/account-auth.js';
import type { PlainTokens } from '../../src/store/accounts-repo.js';

function fakes(failingWrites: number) {
  let stored: PlainTokens = { accessToken: 'old-access', refreshToken: 'old-refresh', tokenVersion: 1 };
  let writes = 0;
  const refreshed: string[] = [];
  const accounts = {
    tokens: async () => ({ ...stored }),
    storeRefreshed: async (
      _id: string,
      basedOn: number,
      t: { accessToken: string; refreshToken: string },
    ): Promise<boolean> => {
      writes += 1;
      if (writes <= failingWrites) throw new Error('connection reset (MongoDB restarting)');
      if (stored.tokenVersion !== basedOn) return false;
      stored = { accessToken: t.accessToken, refreshToken: t.refreshToken, tokenVersion: basedOn + 1 };
      return true;
    },
  };
  const client = {
    refreshToken: async (refreshToken: string) => {
      refreshed.push(refreshToken);
      return {
        token_type: 'bearer',
        access_token: 'new-access',
        refresh_token: 'new-refresh',
        expires_in: 3600,
        scope: 'read_events',
      };
    },
  };
  return { accounts, client, refreshed, writes: () => writes, stored: () => stored };
}

describe('refreshed tokens are not lost when storing them fails for a moment', () => {
  it('retries the write and keeps the rotated refresh token', async () => {
    const f = fakes(2);
    const auth = accountAuth(f.accounts, f.client as never, 'acc', { storeBudgetMs: 5_000 });
    await expect(auth.refresh()).resolves.toBe('new-access');
    expect(f.writes()).toBe(3);
    expect(f.refreshed).toEqual(['old-refresh']); // Cronofy was asked once
    expect(f.stored()).toEqual({ accessToken: 'new-access', refreshToken: 'new-refresh', tokenVersion: 2 });
  });

  it('gives up after its budget with the storage error', async () => {
    const f = fakes(Number.POSITIVE_INFINITY);
    const auth = accountAuth(f.accounts, f.client as never, 'acc', { storeBudgetMs: 300 });
    await expect(auth.refresh()).rejects.toThrow('MongoDB restarting');
    expect(f.writes()).toBeGreaterThanOrEqual(2);
  });
});
