/**
 * A sync's progress in `GET /accounts/:id` while it runs, on the whole service (API, worker,
 * MongoDB-protocol server, the Cronofy simulator): the sync activity records pages done of Cronofy's
 * `pages.total` and the events written after each page, and the status shows them until the sync
 * ends. The simulator holds page 2 of the chain back, so the status is read between two pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimAccount } from '../../src/simulator/index.js';
import { eventually, type Stack, startStack } from '../support/stack.js';

const DAY = 86_400_000;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
/** Page 2's answer waits this long: the window in which page 1 is written and the status is read. */
const PAGE_2_DELAY_MS = 5_000;

type Status = {
  running: string | null;
  progress?: Record<string, unknown>;
  lastSyncs: { full?: { pages: number; upserted: number } };
};

describe('sync progress in the status', () => {
  let stack: Stack;
  let account: SimAccount;

  beforeAll(async () => {
    stack = await startStack({ sim: { rateLimit: false, pageSize: 2 } });
    account = stack.sim.createAccount({ calendarIds: ['cal_work'] });
    // Five events: a chain of three pages of two.
    const start = Date.now() + 2 * DAY;
    for (let i = 0; i < 5; i++) {
      stack.sim.upsertEvent(
        account.accountId,
        {
          calendar_id: 'cal_work',
          summary: `e${i}`,
          start: iso(start + i * DAY),
          end: iso(start + i * DAY + 3_600_000),
        },
        { notify: false },
      );
    }
  });
  afterAll(async () => {
    await stack?.close();
  });

  const status = async () => {
    const res = await stack.admin('GET', `/accounts/${account.accountId}`);
    expect(res.status).toBe(200);
    return res.body as Status;
  };

  it('shows pages done of the total and the events written mid-sync, and nothing once it is done', async () => {
    // Once page 1 is served, the read of page 2 (asked for at once: pages are read ahead) is held.
    stack.sim.afterPage(account.accountId, 1, () => {
      stack.sim.injectFault({ path: /^\/v1\/events\/pages\//, delayMs: PAGE_2_DELAY_MS, times: 1 });
    });
    const reg = await stack.admin('POST', '/accounts', {
      accountId: account.accountId,
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
    });
    expect(reg.status).toBe(201);

    const mid = await eventually(
      async () => {
        // Page 1 written (the sync run shows 0 pages from its start until then).
        const s = await status();
        return (s.progress?.['pagesDone'] as number | undefined) === 1 ? s : null;
      },
      20_000,
      'progress of the initial full sync after its first page',
    );
    expect(mid.running).toBe('full');
    expect(mid.progress).toEqual({
      kind: 'full',
      pagesDone: 1,
      pagesTotal: 3,
      upserted: 2,
      deleted: 0,
      startedAt: expect.any(String),
    });
    const run = await stack.db
      .collection('sync_runs')
      .findOne({ accountId: account.accountId, kind: 'full' });
    expect(run).toMatchObject({ outcome: 'running', pages: 1, pagesTotal: 3, upserted: 2 });
    expect(new Date(mid.progress?.['startedAt'] as string).getTime()).toBe(run?.startedAt.getTime());

    const done = await eventually(
      async () => {
        const s = await status();
        return s.lastSyncs.full ? s : null;
      },
      30_000,
      'the full sync finished',
    );
    expect(done).not.toHaveProperty('progress');
    expect(done.lastSyncs.full).toMatchObject({ upserted: 5 });
    expect(
      await stack.db.collection('sync_runs').findOne({ accountId: account.accountId, kind: 'full' }),
    ).toMatchObject({ outcome: 'succeeded', pagesTotal: 3, upserted: 5 });
  });
});
