/**
 * Issue 13 item 10: profile state from Cronofy's UserInfo, in the status the API serves, with the
 * relink URL, refreshed on profile pushes. The whole service on real servers, against the simulator
 * (whose profile disconnect pushes `profile_disconnected` and reports the profile in UserInfo).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileState } from '../../src/workflows/messages.js';
import { registerAccount } from '../support/accounts.js';
import { eventually, type Stack, startStack } from '../support/stack.js';

describe('profile state in the account status', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { rateLimit: false } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const profilesOf = async (accountId: string) =>
    ((await stack.admin('GET', `/accounts/${accountId}`)).body as { profiles?: ProfileState[] | null })
      .profiles;

  it('is read at registration, and a disconnected profile shows with its relink URL', async () => {
    const account = stack.sim.createAccount();
    expect((await registerAccount(stack, account)).status).toBe(201);
    const first = await eventually(() => profilesOf(account.accountId), 20_000, 'profiles read');
    expect(first).toEqual([expect.objectContaining({ connected: true, relinkUrl: null })]);

    stack.sim.disconnectProfile(account.accountId);
    const after = await eventually(
      async () => (await profilesOf(account.accountId))?.find((p) => !p.connected),
      20_000,
      'the disconnected profile',
    );
    expect(after.relinkUrl).toMatch(/^https?:\/\//);
    const status = (await stack.admin('GET', `/accounts/${account.accountId}`)).body as {
      profileDisconnected: unknown;
    };
    expect(status.profileDisconnected).not.toBeNull();
  });
});
