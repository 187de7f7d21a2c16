/**
 * The simulator where Cronofy is inconvenient: `include_moved` (an event remembers every position
 * it has had), page chains computed live so a move between two page fetches is skipped or seen
 * twice, page chains that end early, and `updated` going backwards. On a controlled clock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CronofyEvent, ReadEventsPage } from '../../src/cronofy/types.js';
import { CronofySimulator, type SimAccount } from '../../src/simulator/index.js';
import { CLIENT_ID, SECRETS } from './helpers.js';

// The window is [2024-12-04, 2025-08-04): 42 days back, 201 ahead of 2025-01-15.
const clock = new Date('2025-01-15T12:00:00Z');
let sim: CronofySimulator;

beforeAll(async () => {
  sim = await CronofySimulator.start({
    clientId: CLIENT_ID,
    clientSecrets: SECRETS,
    pageSize: 3,
    rateLimit: false,
    now: () => clock,
  });
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.clearFaults();
  sim.setPaging({ pageSize: 3, paging: 'keyset' });
});

async function get(path: string, token: string): Promise<ReadEventsPage> {
  const res = await fetch(path.startsWith('http') ? path : `${sim.url}${path}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as ReadEventsPage;
}

/** Every page of a chain, following next_page. */
async function chain(account: SimAccount, query: string): Promise<ReadEventsPage[]> {
  const pages = [await get(`/v1/events?tzid=Etc/UTC&${query}`, account.accessToken)];
  while (pages.at(-1)!.pages.next_page)
    pages.push(await get(pages.at(-1)!.pages.next_page!, account.accessToken));
  return pages;
}

const summaries = (pages: ReadEventsPage[]) => pages.flatMap((p) => p.events.map((e) => e.summary));

function at(account: SimAccount, summary: string, start: string, extra: Record<string, unknown> = {}) {
  return sim.upsertEvent(
    account.accountId,
    {
      calendar_id: account.calendarIds[0]!,
      summary,
      start,
      end: new Date(Date.parse(start) + 3_600_000),
      ...extra,
    },
    { notify: false },
  );
}

function move(account: SimAccount, event: CronofyEvent, start: string) {
  return at(account, event.summary!, start, { event_uid: event.event_uid });
}

describe('include_moved', () => {
  it('without it an event moved out of the window is invisible, even to a last_modified read', async () => {
    const account = sim.createAccount();
    const meeting = at(account, 'tuesday', '2025-01-21T10:00:00Z');
    const after = move(account, meeting, '2025-09-22T10:00:00Z'); // +250 days
    const read = await chain(account, `last_modified=${after.updated}&include_deleted=true`);
    expect(summaries(read)).toEqual([]);
  });

  it('with it, an event that was ever inside from/to comes back with its current times', async () => {
    const account = sim.createAccount();
    const later = at(account, 'later', '2025-01-21T10:00:00Z');
    const earlier = at(account, 'earlier', '2025-01-22T10:00:00Z');
    at(account, 'stays', '2025-01-23T10:00:00Z');
    move(account, later, '2025-09-22T10:00:00Z');
    move(account, earlier, '2024-11-01T10:00:00Z'); // before -42 days
    const read = (await chain(account, 'include_moved=true')).flatMap((p) => p.events);
    expect(read.map((e) => [e.summary, e.start]).sort()).toEqual([
      ['earlier', '2024-11-01T10:00:00Z'],
      ['later', '2025-09-22T10:00:00Z'],
      ['stays', '2025-01-23T10:00:00Z'],
    ]);
    // Plain reads see only what is inside now.
    expect(summaries(await chain(account, ''))).toEqual(['stays']);
  });

  it('"ever inside" is about the from/to asked for, and last_modified still applies', async () => {
    const account = sim.createAccount();
    const hopper = at(account, 'hopper', '2025-02-10T10:00:00Z');
    move(account, hopper, '2025-03-10T10:00:00Z');
    const moved = move(account, hopper, '2025-04-10T10:00:00Z');
    at(account, 'never in february', '2025-05-10T10:00:00Z');
    const feb = 'from=2025-02-01&to=2025-03-01&include_moved=true';
    expect(summaries(await chain(account, feb))).toEqual(['hopper']);
    // A March window saw it too (its second position), a June one never did.
    expect(summaries(await chain(account, 'from=2025-03-01&to=2025-04-01&include_moved=true'))).toEqual([
      'hopper',
    ]);
    expect(summaries(await chain(account, 'from=2025-06-01&to=2025-07-01&include_moved=true'))).toEqual([]);
    const later = new Date(Date.parse(moved.updated!) + 1000).toISOString().replace('.000Z', 'Z');
    expect(summaries(await chain(account, `${feb}&last_modified=${moved.updated}`))).toEqual(['hopper']);
    expect(summaries(await chain(account, `${feb}&last_modified=${later}`))).toEqual([]);
  });

  it('a moved-out event that is then deleted comes as a tombstone only with include_deleted', async () => {
    const account = sim.createAccount();
    const e = at(account, 'gone', '2025-01-20T10:00:00Z');
    move(account, e, '2025-10-01T10:00:00Z');
    sim.deleteEvent(account.accountId, e.event_uid, { notify: false });
    expect(summaries(await chain(account, 'include_moved=true'))).toEqual([]);
    const tomb = (await chain(account, 'include_moved=true&include_deleted=true')).flatMap((p) => p.events);
    expect(tomb).toMatchObject([{ summary: 'gone', deleted: true, start: '2025-10-01T10:00:00Z' }]);
  });
});

describe('page chains read live', () => {
  function seed(account: SimAccount, n: number): CronofyEvent[] {
    return Array.from({ length: n }, (_, i) =>
      at(account, `p${i}`, `2025-02-${String(i + 1).padStart(2, '0')}T09:00:00Z`),
    );
  }

  it('keyset: an event moved from a page not yet read to one already read is never seen', async () => {
    const account = sim.createAccount();
    const events = seed(account, 9);
    // After page 1 (p0..p2) is served, p7 moves before p1: into the part already read.
    sim.afterPage(account.accountId, 1, () => move(account, events[7]!, '2025-02-01T12:00:00Z'));
    const read = summaries(await chain(account, ''));
    expect(read).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p8']);
    expect(sim.truth(account.accountId).map((e) => e.summary)).toContain('p7');
  });

  it('keyset: an event moved from a page already read to one not yet read is seen twice', async () => {
    const account = sim.createAccount();
    const events = seed(account, 6);
    sim.afterPage(account.accountId, 1, () => move(account, events[0]!, '2025-02-28T09:00:00Z'));
    const read = (await chain(account, '')).flatMap((p) => p.events);
    expect(read.map((e) => e.summary)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p0']);
    // The second sighting is the current version.
    expect(read.at(-1)!.start).toBe('2025-02-28T09:00:00Z');
  });

  it('offset: an event leaving the part already read makes an unchanged event be skipped', async () => {
    const account = sim.createAccount();
    const events = seed(account, 6);
    sim.setPaging({ paging: 'offset' });
    // p1 (already read) moves out of the window: the rest shift left by one, and p3 (never
    // changed) falls into the part already read.
    sim.afterPage(account.accountId, 1, () => move(account, events[1]!, '2025-12-01T09:00:00Z'));
    const pages = await chain(account, '');
    expect(summaries(pages)).toEqual(['p0', 'p1', 'p2', 'p4', 'p5']);
    expect(pages.map((p) => p.pages.current)).toEqual([1, 2]);
  });

  it('pages are computed when asked for, not snapshotted: a page-size change applies mid-chain', async () => {
    const account = sim.createAccount();
    seed(account, 7);
    const first = await get('/v1/events?tzid=Etc/UTC', account.accessToken);
    expect(first.pages).toMatchObject({ current: 1, total: 3 });
    sim.setPaging({ pageSize: 1 });
    const second = await get(first.pages.next_page!, account.accessToken);
    expect(second.events.map((e) => e.summary)).toEqual(['p3']);
    expect(second.pages).toMatchObject({ current: 2, total: 5 });
  });
});

describe('page chains that end early', () => {
  it('an endChain fault answers a page without next_page while current < total', async () => {
    const account = sim.createAccount();
    for (let i = 0; i < 8; i++) at(account, `c${i}`, `2025-03-0${i + 1}T09:00:00Z`);
    const fault = sim.injectFault({ path: /^\/v1\/events\/pages\//, endChain: true, times: 1 });
    const pages = await chain(account, '');
    expect(pages).toHaveLength(2);
    expect(pages[1]!.pages).toEqual({ current: 2, total: 3 });
    expect(summaries(pages)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    expect(fault.remaining()).toBe(0);
  });

  it('is not used up by a page that is the last anyway', async () => {
    const account = sim.createAccount();
    at(account, 'only', '2025-03-01T09:00:00Z');
    const fault = sim.injectFault({ path: '/v1/events', endChain: true, times: 1 });
    const pages = await chain(account, '');
    expect(pages.map((p) => p.pages)).toEqual([{ current: 1, total: 1 }]);
    expect(fault.remaining()).toBe(1);
  });
});

describe('updated going backwards', () => {
  it('an upsert with an older updated keeps it, and a last_modified read from its push misses it', async () => {
    const account = sim.createAccount();
    const e = at(account, 'original', '2025-01-20T10:00:00Z');
    const old = '2025-01-01T08:00:00Z';
    expect(e.updated! > old).toBe(true);
    const reimported = sim.upsertEvent(
      account.accountId,
      { ...e, summary: 're-imported' },
      { notify: false, updated: old },
    );
    expect(reimported).toMatchObject({ summary: 're-imported', updated: old });
    // A read from the original stamp (what a reader has seen) no longer finds it.
    expect(summaries(await chain(account, `last_modified=${e.updated}`))).toEqual([]);
    expect(summaries(await chain(account, `last_modified=${old}`))).toEqual(['re-imported']);
  });

  it('undeleteEvent brings the pre-deletion stamp back: older than the tombstone', async () => {
    const account = sim.createAccount();
    const e = at(account, 'back again', '2025-01-20T10:00:00Z');
    const clockBefore = clock.getTime();
    clock.setTime(clockBefore + 60_000);
    try {
      const tomb = sim.deleteEvent(account.accountId, e.event_uid, { notify: false });
      expect(tomb.updated! > e.updated!).toBe(true);
      const back = sim.undeleteEvent(account.accountId, e.event_uid, { notify: false });
      expect(back).toMatchObject({ deleted: false, updated: e.updated, summary: 'back again' });
      expect(sim.truth(account.accountId).map((x) => x.summary)).toEqual(['back again']);
      // A reader that saw the tombstone and reads from its stamp does not see the undelete.
      expect(summaries(await chain(account, `last_modified=${tomb.updated}&include_deleted=true`))).toEqual(
        [],
      );
    } finally {
      clock.setTime(clockBefore);
    }
  });
});
