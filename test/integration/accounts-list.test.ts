/**
 * `GET /accounts` on the real stack (API on a real port, the MongoDB-protocol server): the filters
 * as MongoDB applies them, keyset pages that neither repeat nor skip an account while accounts are
 * added between pages, cursors bound to their filters, and `failingSince` as `setState` (the
 * `recordAccountState` activity) keeps it. The workflow's part (it records its state as it
 * degrades and recovers) is in admin-api.test.ts's lifecycle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountsRepo } from '../../src/store/accounts-repo.js';
import { collections } from '../../src/store/db.js';
import { TokenCrypto } from '../../src/store/token-crypto.js';
import { type Stack, startStack } from '../support/stack.js';

type Summary = { accountId: string; state: string; dataCenter: string; failingSince: string | null };
type Page = { accounts: Summary[]; nextCursor: string | null };

let stack: Stack;
let repo: AccountsRepo;
/** The repository's clock: each state change at a known time. */
let clock = new Date('2026-05-01T10:00:00Z');

beforeAll(async () => {
  // No worker: these accounts have no workflows, their states are written as the activity would.
  stack = await startStack({ withWorker: false });
  repo = new AccountsRepo(
    collections(stack.db).accounts,
    new TokenCrypto(stack.config.tokenEncryptionKeys),
    () => clock,
  );
});
afterAll(async () => {
  await stack?.close();
});

const register = (accountId: string, dataCenter: 'us' | 'de' = 'us') =>
  repo.register({ accountId, accessToken: 'a', refreshToken: 'r', dataCenter, calendarIds: null });

async function list(query: string): Promise<Page> {
  const res = await stack.admin('GET', `/accounts${query}`);
  expect(res.status, query).toBe(200);
  return res.body as Page;
}

/** Every page of `query`, `limit` at a time; `between` runs after each page. */
async function all(query: string, between?: (page: number) => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 1; ; page++) {
    const p: Page = await list(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
    ids.push(...p.accounts.map((a) => a.accountId));
    if (!p.nextCursor) return ids;
    cursor = p.nextCursor;
    await between?.(page);
  }
}

describe('GET /accounts on MongoDB', () => {
  it('filters by state, data center and failing, and keeps failingSince from the first failing state', async () => {
    for (const id of ['f-1', 'f-2', 'f-3', 'f-4']) await register(id, id === 'f-2' ? 'de' : 'us');
    clock = new Date('2026-05-01T10:00:00Z');
    await repo.setState('f-1', 'degraded');
    clock = new Date('2026-05-01T11:00:00Z');
    await repo.setState('f-2', 'degraded');
    // Degraded → disconnected is the same failure going on: its start stays.
    await repo.setState('f-1', 'disconnected');
    await repo.setState('f-3', 'degraded');
    clock = new Date('2026-05-01T12:00:00Z');
    await repo.setState('f-3', 'active');

    const failing = await list('?failing=true');
    expect(failing.accounts).toEqual([
      expect.objectContaining({
        accountId: 'f-1',
        state: 'disconnected',
        failingSince: '2026-05-01T10:00:00.000Z',
      }),
      expect.objectContaining({
        accountId: 'f-2',
        state: 'degraded',
        failingSince: '2026-05-01T11:00:00.000Z',
      }),
    ]);
    expect(failing.nextCursor).toBeNull();
    expect((await list('?state=active')).accounts.map((a) => [a.accountId, a.failingSince])).toEqual([
      ['f-3', null],
      ['f-4', null],
    ]);
    expect(
      (await list('?state=degraded&state=disconnected&dataCenter=de')).accounts.map((a) => a.accountId),
    ).toEqual(['f-2']);
    expect((await list('?failingSinceBefore=2026-05-01T10:30:00Z')).accounts.map((a) => a.accountId)).toEqual(
      ['f-1'],
    );
    expect((await list('?failingSinceAfter=2026-05-01T10:30:00Z')).accounts.map((a) => a.accountId)).toEqual([
      'f-2',
    ]);
    // Deregistered: closed, no longer failing.
    await repo.markDeregistered('f-2');
    expect((await list('?state=closed')).accounts).toEqual([
      expect.objectContaining({ accountId: 'f-2', failingSince: null }),
    ]);
  });

  it('pages by account id without repeats or gaps while accounts are added, and binds a cursor to its filters', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `p-${i}`);
    for (const id of ids) await register(id);
    // Accounts added between pages: one before the position reached (not shown), one after it (shown).
    const seen = await all('?limit=3&state=active', async (page) => {
      if (page === 1) {
        await register('a-0');
        await register('p-9');
      }
    });
    expect(seen).toEqual(['f-3', 'f-4', ...ids, 'p-9']);
    expect(new Set(seen).size).toBe(seen.length);

    const first = await list('?limit=2&state=active');
    expect(first.accounts).toHaveLength(2);
    const elsewhere = await stack.admin('GET', `/accounts?limit=2&state=degraded&cursor=${first.nextCursor}`);
    expect(elsewhere).toMatchObject({ status: 400, body: { error: 'invalid_cursor' } });
    const broken = await stack.admin('GET', '/accounts?cursor=not-a-cursor!');
    expect(broken).toMatchObject({ status: 400, body: { error: 'invalid_cursor' } });
  });

  it('never shows tokens', async () => {
    const page = await list('?limit=500');
    expect(page.accounts.length).toBeGreaterThan(0);
    const text = JSON.stringify(page);
    expect(text).not.toMatch(/accessToken|refreshToken|tokenVersion/);
  });
});
