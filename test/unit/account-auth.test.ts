import { describe, expect, it } from 'vitest';
import { accountAuth } from '../../src/activities/account-auth.js';
import type { PlainTokens } from '../../src/store/accounts-repo.js';

function fakes(initial: PlainTokens) {
  let stored = { ...initial };
  const refreshCalls: string[] = [];
  return {
    refreshCalls,
    get stored() {
      return stored;
    },
    accounts: {
      tokens: async () => ({ ...stored }),
      storeRefreshed: async (
        _id: string,
        v: number,
        t: { accessToken: string; refreshToken: string; expiresInSec?: number },
      ) => {
        if (v !== stored.tokenVersion) return false;
        stored = {
          accessToken: t.accessToken,
          refreshToken: t.refreshToken,
          tokenVersion: v + 1,
          accessTokenExpiresAt: null,
        };
        return true;
      },
    },
    client: {
      refreshToken: async (rt: string) => {
        refreshCalls.push(rt);
        return {
          token_type: 'bearer',
          access_token: `at-${refreshCalls.length}`,
          refresh_token: `rt-${refreshCalls.length}`,
          expires_in: 3600,
        };
      },
    },
  };
}

describe('accountAuth', () => {
  const NOW = Date.parse('2026-11-23T12:00:00Z');

  it('uses the stored token while it is valid', async () => {
    const f = fakes({
      accessToken: 'at-0',
      refreshToken: 'rt-0',
      tokenVersion: 1,
      accessTokenExpiresAt: new Date(NOW + 3_600_000),
    });
    const auth = accountAuth(f.accounts, f.client, 'a', { now: () => NOW });
    expect(await auth.getAccessToken()).toBe('at-0');
    expect(f.refreshCalls).toEqual([]);
  });

  it('refreshes first when the stored token is known to have expired (no 401 round trip)', async () => {
    const f = fakes({
      accessToken: 'at-0',
      refreshToken: 'rt-0',
      tokenVersion: 1,
      accessTokenExpiresAt: new Date(NOW - 1),
    });
    const auth = accountAuth(f.accounts, f.client, 'a', { now: () => NOW });
    expect(await auth.getAccessToken()).toBe('at-1');
    expect(f.refreshCalls).toEqual(['rt-0']);
    expect(f.stored).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1', tokenVersion: 2 });
    // the fresh token is used for the rest of the activity without another refresh
    expect(await auth.getAccessToken()).toBe('at-1');
    expect(f.refreshCalls).toHaveLength(1);
  });

  it('with an unknown expiry it sends the stored token (a 401 then triggers the refresh)', async () => {
    const f = fakes({
      accessToken: 'at-0',
      refreshToken: 'rt-0',
      tokenVersion: 1,
      accessTokenExpiresAt: null,
    });
    const auth = accountAuth(f.accounts, f.client, 'a', { now: () => NOW });
    expect(await auth.getAccessToken()).toBe('at-0');
    expect(await auth.refresh()).toBe('at-1');
  });
});
