/**
 * The simulator's Read Events over HTTP, on a controlled clock: validation bodies, the window
 * clamp, `to` exclusive, last_modified (inclusive, no fractional seconds), include_deleted,
 * include_managed/only_managed, calendar_ids[], localized_times, paging, auth and rate limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CronofyEvent, ReadEventsPage } from '../../src/cronofy/types.js';
import { CronofySimulator, type SimAccount } from '../../src/simulator/index.js';
import { CLIENT_ID, SECRETS } from './helpers.js';

let clock = new Date('2025-01-15T12:00:00Z');
let sim: CronofySimulator;

beforeAll(async () => {
  sim = await CronofySimulator.start({
    clientId: CLIENT_ID,
    clientSecrets: SECRETS,
    pageSize: 4,
    rateLimit: false,
    now: () => clock,
  });
});
afterAll(() => sim.stop());

function advance(ms: number) {
  clock = new Date(clock.getTime() + ms);
}

async function get(path: string, token: string | undefined) {
  const res = await fetch(path.startsWith('http') ? path : `${sim.url}${path}`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** A new access token for the account (the clock may have passed the old one's expiry). */
async function refresh(account: SimAccount): Promise<string> {
  const res = await fetch(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_id: CLIENT_ID,
      client_secret: SECRETS[0],
      grant_type: 'refresh_token',
      refresh_token: account.refreshToken,
    }),
  });
  expect(res.status).toBe(200);
  const token = (await res.json()) as { access_token: string; refresh_token: string };
  account.refreshToken = token.refresh_token;
  return token.access_token;
}

/** All pages of a Read Events query, following next_page. */
async function readAll(account: SimAccount, query: string): Promise<CronofyEvent[]> {
  let answer = await get(`/v1/events?tzid=Etc/UTC&${query}`, account.accessToken);
  expect(answer.status).toBe(200);
  const events: CronofyEvent[] = [...(answer.body as ReadEventsPage).events];
  while ((answer.body as ReadEventsPage).pages.next_page) {
    answer = await get((answer.body as ReadEventsPage).pages.next_page!, account.accessToken);
    expect(answer.status).toBe(200);
    events.push(...(answer.body as ReadEventsPage).events);
  }
  return events;
}

function timed(
  account: SimAccount,
  summary: string,
  start: string,
  minutes = 30,
  extra: Record<string, unknown> = {},
) {
  return sim.upsertEvent(
    account.accountId,
    {
      calendar_id: account.calendarIds[0]!,
      summary,
      start,
      end: new Date(Date.parse(start) + minutes * 60_000),
      ...extra,
    },
    { notify: false },
  );
}

const summaries = (events: CronofyEvent[]) => events.map((e) => e.summary).sort();

describe('validation', () => {
  it('tzid is required, with Cronofy’s 422 body; an unknown zone is refused too', async () => {
    const account = sim.createAccount();
    const missing = await get('/v1/events', account.accessToken);
    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({ errors: { tzid: [{ key: 'errors.required', description: 'required' }] } });
    expect((await get('/v1/events?tzid=Mars/Olympus', account.accessToken)).status).toBe(422);
  });

  it('last_modified with non-zero milliseconds → 422; .000 and offsets are fine', async () => {
    const account = sim.createAccount();
    const bad = await get(
      '/v1/events?tzid=Etc/UTC&last_modified=2025-01-15T10:00:00.123Z',
      account.accessToken,
    );
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.errors)).toEqual(['last_modified']);
    expect(
      (await get('/v1/events?tzid=Etc/UTC&last_modified=2025-01-15T10:00:00.000Z', account.accessToken))
        .status,
    ).toBe(200);
    expect(
      (await get('/v1/events?tzid=Etc/UTC&last_modified=2025-01-15T11:00:00%2B01:00', account.accessToken))
        .status,
    ).toBe(200);
    expect((await get('/v1/events?tzid=Etc/UTC&last_modified=yesterday', account.accessToken)).status).toBe(
      422,
    );
  });

  it('booleans must be true/false; bad dates are refused; include_geo needs a plan (402)', async () => {
    const account = sim.createAccount();
    const bad = await get('/v1/events?tzid=Etc/UTC&include_deleted=yes&from=2025-13-01', account.accessToken);
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.errors).sort()).toEqual(['from', 'include_deleted']);
    expect((await get('/v1/events?tzid=Etc/UTC&include_geo=true', account.accessToken)).status).toBe(402);
  });

  it('no, unknown, expired or revoked bearer → 401', async () => {
    const account = sim.createAccount();
    expect((await get('/v1/events?tzid=Etc/UTC', undefined)).status).toBe(401);
    const unknown = await get('/v1/events?tzid=Etc/UTC', 'nope');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await get('/v1/events?tzid=Etc/UTC', account.accessToken)).status).toBe(200);
    advance(3_600_000); // the default TTL
    expect((await get('/v1/events?tzid=Etc/UTC', account.accessToken)).status).toBe(401);
  });
});

describe('the sync window', () => {
  it('clamps from/to to -42/+201 days of today (UTC), to exclusive', async () => {
    clock = new Date('2025-01-15T12:00:00Z');
    const account = sim.createAccount();
    timed(account, 'too old', '2024-12-03T23:00:00Z', 30); // ends before 2024-12-04
    timed(account, 'straddles from', '2024-12-03T23:45:00Z', 30);
    timed(account, 'oldest visible', '2024-12-04T00:00:00Z');
    timed(account, 'last visible', '2025-08-03T23:30:00Z');
    timed(account, 'at to', '2025-08-04T00:00:00Z');
    timed(account, 'too far', '2025-09-01T10:00:00Z');
    const expected = ['last visible', 'oldest visible', 'straddles from'];
    expect(summaries(await readAll(account, ''))).toEqual(expected);
    expect(summaries(await readAll(account, 'from=2020-01-01&to=2030-01-01'))).toEqual(expected);
  });

  it('to is exclusive and all-day events compare by date', async () => {
    const account = sim.createAccount();
    timed(account, 'before to', '2025-01-19T23:30:00Z');
    timed(account, 'at to', '2025-01-20T00:00:00Z');
    sim.upsertEvent(
      account.accountId,
      {
        calendar_id: account.calendarIds[0]!,
        summary: 'all day 19th',
        start: '2025-01-19',
        end: '2025-01-20',
      },
      { notify: false },
    );
    sim.upsertEvent(
      account.accountId,
      {
        calendar_id: account.calendarIds[0]!,
        summary: 'all day 20th',
        start: '2025-01-20',
        end: '2025-01-21',
      },
      { notify: false },
    );
    expect(summaries(await readAll(account, 'from=2025-01-19&to=2025-01-20'))).toEqual([
      'all day 19th',
      'before to',
    ]);
  });

  it('events enter the window as it moves, with no notification', async () => {
    clock = new Date('2025-01-15T12:00:00Z');
    const account = sim.createAccount();
    timed(account, 'far future', '2025-08-06T09:00:00Z');
    expect(await readAll(account, '')).toEqual([]);
    const deliveries = sim.deliveries.length;
    advance(3 * 86_400_000);
    const refreshed = { ...account, accessToken: await refresh(account) };
    expect(summaries(await readAll(refreshed, ''))).toEqual(['far future']);
    expect(sim.deliveries.length).toBe(deliveries);
  });

  it('from/to are midnights in tzid', async () => {
    clock = new Date('2025-01-15T12:00:00Z');
    const account = sim.createAccount();
    timed(account, 'late evening UTC', '2025-01-19T23:30:00Z', 20); // already the 20th in Europe/Berlin
    const utc = await readAll(account, 'from=2025-01-19&to=2025-01-20');
    expect(summaries(utc)).toEqual(['late evening UTC']);
    const berlin = await get(
      '/v1/events?tzid=Europe/Berlin&from=2025-01-19&to=2025-01-20',
      account.accessToken,
    );
    expect(berlin.body.events).toEqual([]);
  });
});

describe('filters', () => {
  it('last_modified returns events updated at or after it (second precision, inclusive)', async () => {
    clock = new Date('2025-01-15T12:00:00.400Z');
    const account = sim.createAccount();
    const first = timed(account, 'first', '2025-01-16T09:00:00Z');
    expect(first.updated).toBe('2025-01-15T12:00:00Z');
    advance(10_000);
    const second = timed(account, 'second', '2025-01-16T10:00:00Z');
    expect(summaries(await readAll(account, `last_modified=${second.updated}`))).toEqual(['second']);
    expect(summaries(await readAll(account, `last_modified=${first.updated}`))).toEqual(['first', 'second']);
    advance(5_000);
    const updated = timed(account, 'first', '2025-01-16T09:00:00Z', 30, { event_uid: first.event_uid });
    expect(updated.created).toBe(first.created);
    expect(updated.updated).toBe('2025-01-15T12:00:15Z');
    expect(summaries(await readAll(account, `last_modified=2025-01-15T12:00:11Z`))).toEqual(['first']);
  });

  it('include_deleted shows tombstones (deleted: true, updated bumped); hidden by default', async () => {
    const account = sim.createAccount();
    const event = timed(account, 'doomed', '2025-01-16T09:00:00Z');
    timed(account, 'kept', '2025-01-16T10:00:00Z');
    advance(2000);
    sim.deleteEvent(account.accountId, event.event_uid, { notify: false });
    expect(summaries(await readAll(account, ''))).toEqual(['kept']);
    const all = await readAll(account, 'include_deleted=true');
    const tombstone = all.find((e) => e.event_uid === event.event_uid)!;
    expect(tombstone.deleted).toBe(true);
    expect(tombstone.updated! > event.updated!).toBe(true);
    expect(all.find((e) => e.summary === 'kept')!.deleted).toBe(false);
  });

  it('managed events (with event_id) need include_managed; only_managed returns only them', async () => {
    const account = sim.createAccount();
    timed(account, 'external', '2025-01-16T09:00:00Z');
    timed(account, 'ours', '2025-01-16T10:00:00Z', 30, { event_id: 'our-id-1' });
    expect(summaries(await readAll(account, ''))).toEqual(['external']);
    expect(summaries(await readAll(account, 'include_managed=true'))).toEqual(['external', 'ours']);
    expect(summaries(await readAll(account, 'only_managed=true'))).toEqual(['ours']);
  });

  it('calendar_ids[] limits to those calendars', async () => {
    const account = sim.createAccount({ calendarIds: ['cal_x', 'cal_y', 'cal_z'] });
    for (const cal of account.calendarIds) {
      sim.upsertEvent(
        account.accountId,
        { calendar_id: cal, summary: cal, start: '2025-01-16T09:00:00Z', end: '2025-01-16T10:00:00Z' },
        { notify: false },
      );
    }
    expect(summaries(await readAll(account, 'calendar_ids[]=cal_x&calendar_ids[]=cal_z'))).toEqual([
      'cal_x',
      'cal_z',
    ]);
    expect(summaries(await readAll(account, 'calendar_ids%5B%5D=cal_y'))).toEqual(['cal_y']);
  });

  it('localized_times turns start/end into {time, tzid}', async () => {
    const account = sim.createAccount();
    sim.upsertEvent(
      account.accountId,
      {
        calendar_id: account.calendarIds[0]!,
        summary: 'zoned',
        start: { time: '2025-01-16T09:00:00Z', tzid: 'Europe/London' },
        end: { time: '2025-01-16T10:00:00Z', tzid: 'Europe/London' },
      },
      { notify: false },
    );
    const [plain] = await readAll(account, '');
    expect(plain!.start).toBe('2025-01-16T09:00:00Z');
    const [localized] = await readAll(account, 'localized_times=true');
    expect(localized!.start).toEqual({ time: '2025-01-16T09:00:00Z', tzid: 'Europe/London' });
  });
});

describe('paging', () => {
  it('pages a static set without gaps or repeats, in a stable order, totals consistent', async () => {
    const account = sim.createAccount();
    for (let i = 0; i < 25; i++)
      timed(
        account,
        `e${String(i).padStart(2, '0')}`,
        `2025-01-${String(16 + (i % 3)).padStart(2, '0')}T09:00:00Z`,
      );
    const first = await readAll(account, '');
    const second = await readAll(account, '');
    expect(first.map((e) => e.event_uid)).toEqual(second.map((e) => e.event_uid));
    expect(new Set(first.map((e) => e.event_uid)).size).toBe(25);
    const page1 = (await get('/v1/events?tzid=Etc/UTC', account.accessToken)).body as ReadEventsPage;
    expect(page1.pages).toEqual({
      current: 1,
      total: 7,
      next_page: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1\/events\/pages\//),
    });
    // The same next_page can be fetched again (a retry after a timeout) with the same result.
    const a = await get(page1.pages.next_page!, account.accessToken);
    const b = await get(page1.pages.next_page!, account.accessToken);
    expect(a.body).toEqual(b.body);
    expect(a.body.pages.current).toBe(2);
  });

  it('next_page remembers the query, ignores any new one, and belongs to its account', async () => {
    const account = sim.createAccount();
    const other = sim.createAccount();
    for (let i = 0; i < 6; i++)
      timed(account, `q${i}`, '2025-01-16T09:00:00Z', 30, i % 2 ? { event_id: `m${i}` } : {});
    const page1 = (await get('/v1/events?tzid=Etc/UTC&include_managed=true', account.accessToken))
      .body as ReadEventsPage;
    expect(page1.pages.total).toBe(2);
    const page2 = await get(`${page1.pages.next_page}?include_managed=false`, account.accessToken);
    expect(page2.body.events).toHaveLength(2);
    expect((await get(page1.pages.next_page!, other.accessToken)).status).toBe(404);
    expect((await get(page1.pages.next_page!, undefined)).status).toBe(401);
  });

  it('events changing behind the cursor leave the rest of the chain alone (live keyset on start, uid)', async () => {
    const account = sim.createAccount();
    const events = [];
    for (let i = 0; i < 8; i++) events.push(timed(account, `k${i}`, `2025-01-16T0${i}:00:00Z`));
    const page1 = (await get('/v1/events?tzid=Etc/UTC', account.accessToken)).body as ReadEventsPage;
    // An event already read is deleted, another added before the cursor: the rest pages on unchanged.
    sim.deleteEvent(account.accountId, events[0]!.event_uid, { notify: false });
    timed(account, 'early newcomer', '2025-01-16T00:30:00Z');
    const page2 = (await get(page1.pages.next_page!, account.accessToken)).body as ReadEventsPage;
    expect(page2.events.map((e) => e.summary)).toEqual(['k4', 'k5', 'k6', 'k7']);
  });
});

describe('rate limit', () => {
  it('answers 429 beyond the per-second limit (Cronofy’s limits are on by default)', async () => {
    const limited = await CronofySimulator.start({
      clientId: CLIENT_ID,
      clientSecrets: SECRETS,
      rateLimit: { perSecond: 5, perMinute: 100 },
    });
    try {
      const account = limited.createAccount();
      const statuses = await Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(`${limited.url}/v1/channels`, {
            headers: { Authorization: `Bearer ${account.accessToken}` },
          }).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    } finally {
      await limited.stop();
    }
  });
});
