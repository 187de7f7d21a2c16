/**
 * The simulator's profiles: `GET /v1/userinfo`, `GET /v1/profiles` and `GET /v1/calendars` in
 * Cronofy's shapes; a profile disconnected (relink URL, `profile_disconnected` push, its changes
 * not pushed and its events hidden from Read Events) and reconnected (the held-back changes
 * pushed, respecting channel calendar filters); the same controls over `/_sim/`.
 */
import { describe, expect, it } from 'vitest';
import type { ReadEventsPage } from '../../src/cronofy/types.js';
import type { CronofySimulator, CronofySimulatorOptions, SimAccount } from '../../src/simulator/index.js';
import { CLIENT_ID, SECRETS, simApi, simWorld } from './helpers.js';

/** Two profiles: Google (cal_work, cal_team) and iCloud (cal_home). */
const world = (opts: Partial<CronofySimulatorOptions> = {}) =>
  simWorld(opts, {
    accountId: `acc_${Math.random().toString(36).slice(2)}`,
    profiles: [
      { profileId: 'pro_google', profileName: 'jane@example.com', calendarIds: ['cal_work', 'cal_team'] },
      { profileId: 'pro_apple', providerName: 'apple', providerService: 'icloud', calendarIds: ['cal_home'] },
    ],
  });
const api = simApi;

// Inside the sync window (the simulator runs on the real clock here).
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const slot = { start: `${day(5)}T09:00:00Z`, end: `${day(5)}T10:00:00Z` };

describe('profiles, calendars and UserInfo', () => {
  it('GET /v1/userinfo: sub and the profiles with their calendars under "cronofy.data"', async () => {
    const { sim, account } = await world();
    const { status, body } = await api(sim, account, 'GET', '/v1/userinfo');
    expect(status).toBe(200);
    expect(body.sub).toBe(account.accountId);
    expect(body['cronofy.type']).toBe('account');
    const profiles = body['cronofy.data'].profiles;
    expect(profiles).toMatchObject([
      {
        provider_name: 'google',
        profile_id: 'pro_google',
        profile_name: 'jane@example.com',
        profile_connected: true,
        profile_initial_sync_required: false,
      },
      {
        provider_name: 'apple',
        provider_service: 'icloud',
        profile_id: 'pro_apple',
        profile_connected: true,
      },
    ]);
    expect(profiles[0].profile_relink_url).toBeUndefined();
    expect(profiles[0].profile_calendars.map((c: { calendar_id: string }) => c.calendar_id)).toEqual([
      'cal_work',
      'cal_team',
    ]);
    expect(profiles[0].profile_calendars[0]).toMatchObject({
      calendar_readonly: false,
      calendar_deleted: false,
      calendar_primary: true,
    });
  });

  it('GET /v1/profiles and GET /v1/calendars list the same profiles, calendars carry their profile', async () => {
    const { sim, account } = await world();
    const profiles = await api(sim, account, 'GET', '/v1/profiles');
    expect(profiles.body.profiles.map((p: { profile_id: string }) => p.profile_id)).toEqual([
      'pro_google',
      'pro_apple',
    ]);
    const calendars = await api(sim, account, 'GET', '/v1/calendars');
    expect(calendars.body.calendars).toHaveLength(3);
    expect(calendars.body.calendars[2]).toMatchObject({
      provider_name: 'apple',
      profile_id: 'pro_apple',
      calendar_id: 'cal_home',
      calendar_deleted: false,
    });
    expect((await api(sim, { ...account, accessToken: 'nope' }, 'GET', '/v1/profiles')).status).toBe(401);
  });

  it('disconnect: relink URL, profile_disconnected on every channel, changes held back and events hidden', async () => {
    const { sim, receiver, account } = await world();
    const all = (await api(sim, account, 'POST', '/v1/channels', { callback_url: `${receiver.url}?all` }))
      .body.channel;
    const home = (
      await api(sim, account, 'POST', '/v1/channels', {
        callback_url: `${receiver.url}?home`,
        filters: { calendar_ids: ['cal_home'] },
      })
    ).body.channel;
    await sim.waitForDelivery((d) => d.channelId === home.channel_id && d.type === 'verification');
    const work = sim.upsertEvent(
      account.accountId,
      { calendar_id: 'cal_work', summary: 'work', ...slot },
      { notify: false },
    );
    sim.upsertEvent(
      account.accountId,
      { calendar_id: 'cal_home', summary: 'home', ...slot },
      { notify: false },
    );

    const profile = sim.disconnectProfile(account.accountId, 'pro_google');
    expect(profile.connected).toBe(false);
    await sim.waitForDelivery((d) => d.channelId === all.channel_id && d.type === 'profile_disconnected');
    await sim.waitForDelivery((d) => d.channelId === home.channel_id && d.type === 'profile_disconnected');

    const listed = (await api(sim, account, 'GET', '/v1/profiles')).body.profiles;
    expect(listed[0]).toMatchObject({ profile_id: 'pro_google', profile_connected: false });
    expect(listed[0].profile_relink_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/relink\/pro_google$/);
    expect(listed[1]).toMatchObject({ profile_id: 'pro_apple', profile_connected: true });

    // Its events are left out of Read Events; the other profile's are not.
    const read = (await api(sim, account, 'GET', '/v1/events?tzid=Etc/UTC')).body as ReadEventsPage;
    expect(read.events.map((e) => e.summary)).toEqual(['home']);

    // A change in the disconnected profile is not pushed now...
    const before = sim.deliveries.filter((d) => d.type === 'change').length;
    const renamed = sim.upsertEvent(account.accountId, { ...work, summary: 'work renamed' });
    await sim.settled();
    expect(sim.deliveries.filter((d) => d.type === 'change')).toHaveLength(before);

    // ...but on reconnection, to the channels whose calendar filter covers it, from its stamp.
    sim.reconnectProfile(account.accountId, 'pro_google');
    const pushed = await sim.waitForDelivery((d) => d.channelId === all.channel_id && d.type === 'change');
    expect(pushed.changesSince).toBe(renamed.updated);
    await sim.settled();
    expect(sim.deliveries.filter((d) => d.channelId === home.channel_id && d.type === 'change')).toEqual([]);
    // profile_initial_sync_completed is for new profiles; a relink does not send it by default.
    expect(sim.deliveries.some((d) => d.type === 'profile_initial_sync_completed')).toBe(false);
    const after = (await api(sim, account, 'GET', '/v1/events?tzid=Etc/UTC')).body as ReadEventsPage;
    expect(after.events.map((e) => e.summary).sort()).toEqual(['home', 'work renamed']);
  });

  it('disconnectedProfileEvents: returned keeps a disconnected profile in Read Events', async () => {
    const { sim, account } = await world({ disconnectedProfileEvents: 'returned' });
    sim.upsertEvent(
      account.accountId,
      { calendar_id: 'cal_team', summary: 'team', ...slot },
      { notify: false },
    );
    sim.disconnectProfile(account.accountId, 'pro_google');
    const read = (await api(sim, account, 'GET', '/v1/events?tzid=Etc/UTC')).body as ReadEventsPage;
    expect(read.events.map((e) => e.summary)).toEqual(['team']);
  });

  it('the code exchange names the first profile as linking_profile', async () => {
    const { sim, account } = await world();
    const code = sim.createAuthorizationCode(account.accountId);
    const res = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_id: CLIENT_ID,
        client_secret: SECRETS[0],
        grant_type: 'authorization_code',
        code,
      }),
    });
    expect(((await res.json()) as { linking_profile: unknown }).linking_profile).toEqual({
      provider_name: 'google',
      profile_id: 'pro_google',
      profile_name: 'jane@example.com',
    });
  });
});

describe('control API', () => {
  async function control(sim: CronofySimulator, method: string, path: string, body?: unknown) {
    const res = await fetch(`${sim.url}/_sim${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  it('profiles, disconnect/reconnect, undelete, withUpdated, after-page moves, paging and endChain faults', async () => {
    const { sim, receiver } = await world({ pageSize: 2 });
    const created = await control(sim, 'POST', '/accounts', {
      profiles: [{ profileId: 'pro_x', calendarIds: ['cal_x'] }],
    });
    expect(created.status).toBe(201);
    const account = created.body as SimAccount;
    const id = account.accountId;
    const { channel } = (await api(sim, account, 'POST', '/v1/channels', { callback_url: receiver.url }))
      .body;

    expect((await control(sim, 'GET', `/accounts/${id}/profiles`)).body.profiles).toMatchObject([
      { profileId: 'pro_x', connected: true, calendarIds: ['cal_x'] },
    ]);
    const down = await control(sim, 'POST', `/accounts/${id}/profiles/pro_x/disconnect`);
    expect(down.body.profile).toMatchObject({ connected: false });
    await sim.waitForDelivery((d) => d.channelId === channel.channel_id && d.type === 'profile_disconnected');
    const up = await control(sim, 'POST', `/accounts/${id}/profiles/pro_x/reconnect`, {
      initialSyncCompleted: true,
    });
    expect(up.body.profile).toMatchObject({ connected: true });
    await sim.waitForDelivery(
      (d) => d.channelId === channel.channel_id && d.type === 'profile_initial_sync_completed',
    );
    expect((await control(sim, 'POST', `/accounts/${id}/profiles/pro_nope/disconnect`)).status).toBe(404);

    const posted = [];
    for (let i = 0; i < 4; i++) {
      const start = `${day(i + 2)}T09:00:00Z`;
      const res = await control(sim, 'POST', `/accounts/${id}/events`, {
        calendar_id: 'cal_x',
        summary: `e${i}`,
        start,
        end: start.replace('09:', '10:'),
        notify: false,
      });
      posted.push(res.body.event);
    }
    // An event read back (with its `updated`) and posted again keeps a fresh stamp...
    const again = await control(sim, 'POST', `/accounts/${id}/events`, { ...posted[0], notify: false });
    expect(again.body.event.updated >= posted[0].updated).toBe(true);
    // ...only `withUpdated` rewinds it.
    const rewound = await control(sim, 'POST', `/accounts/${id}/events`, {
      ...posted[0],
      withUpdated: '2020-01-01T00:00:00Z',
      notify: false,
    });
    expect(rewound.body.event.updated).toBe('2020-01-01T00:00:00Z');

    await control(sim, 'DELETE', `/accounts/${id}/events/${posted[1].event_uid}`);
    const back = await control(sim, 'POST', `/accounts/${id}/events/${posted[1].event_uid}/undelete`, {
      updated: '2021-01-01T00:00:00Z',
      notify: false,
    });
    expect(back.body.event).toMatchObject({ deleted: false, updated: '2021-01-01T00:00:00Z' });

    // After page 1, e3 moves to before e0: into the part already read, so the chain never shows it.
    expect(
      (
        await control(sim, 'POST', `/accounts/${id}/after-page`, {
          page: 1,
          event: { ...posted[3], start: `${day(1)}T09:00:00Z`, end: `${day(1)}T10:00:00Z` },
          notify: false,
        })
      ).status,
    ).toBe(201);
    const page1 = (await api(sim, account, 'GET', '/v1/events?tzid=Etc/UTC')).body as ReadEventsPage;
    const page2 = (await api(sim, account, 'GET', page1.pages.next_page!)).body as ReadEventsPage;
    expect([...page1.events, ...page2.events].map((e) => e.summary)).toEqual(['e0', 'e1', 'e2']);
    expect(page2.pages.next_page).toBeUndefined();

    expect((await control(sim, 'PUT', '/paging', { pageSize: 1 })).status).toBe(204);
    expect((await control(sim, 'PUT', '/paging', { paging: 'sideways' })).status).toBe(400);
    expect(
      (await control(sim, 'POST', '/faults', { path: '/v1/events', endChain: true, times: 1 })).status,
    ).toBe(201);
    const cut = (await api(sim, account, 'GET', '/v1/events?tzid=Etc/UTC')).body as ReadEventsPage;
    expect(cut.pages).toEqual({ current: 1, total: 4 });
  });
});

describe('calendar changes', () => {
  it('a renamed, a deleted and an unlisted calendar in List Calendars and UserInfo, also over /_sim/', async () => {
    const { sim, account } = await world();
    const id = account.accountId;
    const patch = (calendarId: string, body: unknown) =>
      fetch(`${sim.url}/_sim/accounts/${id}/calendars/${calendarId}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch('cal_work', { name: 'Work' })).status).toBe(200);
    expect((await patch('cal_team', { deleted: true })).status).toBe(200);
    sim.changeCalendar(id, 'cal_home', { unlisted: true });
    expect((await patch('cal_work', { deleted: 'yes' })).status).toBe(400);
    expect((await patch('cal_nope', { deleted: true })).status).toBe(404);

    const listed = (await api(sim, account, 'GET', '/v1/calendars')).body.calendars;
    expect(
      listed.map((c: Record<string, unknown>) => [c.calendar_id, c.calendar_name, c.calendar_deleted]),
    ).toEqual([
      ['cal_work', 'Work', false],
      ['cal_team', 'Calendar 2', true],
    ]);
    const info = (await api(sim, account, 'GET', '/v1/userinfo')).body['cronofy.data'].profiles;
    expect(info[1].profile_calendars).toEqual([]);
    // Its events are still served: what Cronofy does with them is not documented.
    sim.upsertEvent(id, { calendar_id: 'cal_home', summary: 'kept', ...slot }, { notify: false });
    const read = await api(sim, account, 'GET', `/v1/events?tzid=Etc/UTC&from=${day(0)}&to=${day(30)}`);
    expect(read.body.events.map((e: Record<string, unknown>) => e.calendar_id)).toContain('cal_home');
  });
});
