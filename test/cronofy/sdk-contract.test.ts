/**
 * Contract: Cronofy's official Node SDK (`cronofy` on npm, built against the real API) works
 * against the simulator unchanged: Read Events paging (and include_moved), channels, token refresh
 * and code exchange, UserInfo, profiles and calendars, error shapes, and its own `hmacValid`
 * accepting the simulator's push signatures. Our client reads the same answers (client.test.ts).
 * The SDK takes its base URL from the data center; pointing `urls.api` at the simulator is the
 * only change (see node_modules/cronofy/src/index.js).
 */
import Cronofy from 'cronofy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CronofyClient } from '../../src/cronofy/client.js';
import { verifyCronofyHmac } from '../../src/cronofy/hmac.js';
import { CronofySimulator, type SimAccount } from '../../src/simulator/index.js';
import { CLIENT_ID, type Receiver, SECRETS, startReceiver } from './helpers.js';

let sim: CronofySimulator;
let receiver: Receiver;

beforeAll(async () => {
  sim = await CronofySimulator.start({
    clientId: CLIENT_ID,
    clientSecrets: SECRETS,
    pageSize: 4,
    rateLimit: false,
  });
  receiver = await startReceiver();
});
afterAll(async () => {
  await sim.stop();
  await receiver.close();
});

function sdkFor(account: Pick<SimAccount, 'accessToken' | 'refreshToken'>): Cronofy {
  const sdk = new Cronofy({
    client_id: CLIENT_ID,
    client_secret: SECRETS[0],
    access_token: account.accessToken,
    refresh_token: account.refreshToken,
  });
  sdk.urls.api = sim.url;
  return sdk;
}

function seed(account: SimAccount, count: number) {
  const base = Date.now();
  for (let i = 0; i < count; i++) {
    sim.upsertEvent(
      account.accountId,
      {
        calendar_id: account.calendarIds[i % account.calendarIds.length]!,
        summary: `sdk ${i}`,
        start: new Date(base + i * 3_600_000),
        end: new Date(base + i * 3_600_000 + 1_800_000),
      },
      { notify: false },
    );
  }
}

describe('official SDK against the simulator', () => {
  it('readEvents pages through next_page to exactly the ground truth', async () => {
    const account = sim.createAccount();
    seed(account, 10);
    sim.deleteEvent(account.accountId, sim.truth(account.accountId)[0]!.event_uid, { notify: false });
    const sdk = sdkFor(account);
    let page = await sdk.readEvents({ tzid: 'Etc/UTC', include_deleted: true });
    const seen = [...page.events];
    const currents = [page.pages.current];
    while (page.pages.next_page) {
      page = await sdk.readEvents({ next_page: page.pages.next_page });
      seen.push(...page.events);
      currents.push(page.pages.current);
    }
    expect(currents).toEqual([1, 2, 3]);
    expect(seen.map((e) => e['event_uid'])).toEqual(
      sim.truth(account.accountId, { includeDeleted: true }).map((e) => e.event_uid),
    );
    expect(seen.filter((e) => e['deleted'] === true)).toHaveLength(1);
  });

  it('its calendar_ids[] encoding filters, and a missing tzid comes back as Cronofy’s 422', async () => {
    const account = sim.createAccount({ calendarIds: ['cal_sdk_1', 'cal_sdk_2'] });
    seed(account, 6);
    const sdk = sdkFor(account);
    const page = await sdk.readEvents({ tzid: 'Etc/UTC', calendar_ids: ['cal_sdk_2'] });
    expect(page.events.length).toBe(3);
    expect(page.events.every((e) => e['calendar_id'] === 'cal_sdk_2')).toBe(true);

    const err = (await sdk.readEvents({}).catch((e: unknown) => e)) as {
      statusCode: number;
      error: { entity: unknown };
    };
    expect(err.statusCode).toBe(422);
    expect(err.error.entity).toEqual({
      errors: { tzid: [{ key: 'errors.required', description: 'required' }] },
    });
  });

  it('creates, lists and deletes a notification channel', async () => {
    const account = sim.createAccount();
    const sdk = sdkFor(account);
    const { channel } = await sdk.createNotificationChannel({ callback_url: receiver.url });
    expect(channel).toEqual({
      channel_id: expect.stringMatching(/^chn_/),
      callback_url: receiver.url,
      filters: {},
    });
    const listed = await sdk.listNotificationChannels();
    expect(listed.channels).toEqual([channel]);
    await sdk.deleteNotificationChannel({ channel_id: channel['channel_id'] });
    expect((await sdk.listNotificationChannels()).channels).toEqual([]);
    expect(
      sim.requests.find((r) => r.method === 'DELETE' && r.path.endsWith(String(channel['channel_id'])))
        ?.status,
    ).toBe(202);
  });

  it('refreshAccessToken rotates the tokens; the old refresh token then gets 400 invalid_grant', async () => {
    const account = sim.createAccount();
    const sdk = sdkFor(account);
    sim.expireAccessTokens(account.accountId);
    const unauthorised = (await sdk.listNotificationChannels().catch((e: unknown) => e)) as {
      statusCode: number;
    };
    expect(unauthorised.statusCode).toBe(401);

    const token = await sdk.refreshAccessToken();
    expect(token).toMatchObject({ token_type: 'bearer', expires_in: 3600, account_id: account.accountId });
    expect(token['refresh_token']).not.toBe(account.refreshToken);
    expect(sdk.config['access_token']).toBe(token['access_token']);
    await expect(sdk.listNotificationChannels()).resolves.toEqual({ channels: [] });

    const stale = sdkFor(account);
    const err = (await stale.refreshAccessToken().catch((e: unknown) => e)) as {
      statusCode: number;
      error: { entity: unknown };
    };
    expect(err.statusCode).toBe(400);
    expect(err.error.entity).toEqual({ error: 'invalid_grant' });
  });

  it('requestAccessToken exchanges an authorization code', async () => {
    const account = sim.createAccount();
    const code = sim.createAuthorizationCode(account.accountId, { redirectUri: 'http://localhost/cb' });
    const sdk = new Cronofy({ client_id: CLIENT_ID, client_secret: SECRETS[1] });
    sdk.urls.api = sim.url;
    const token = await sdk.requestAccessToken({ code, redirect_uri: 'http://localhost/cb' });
    expect(token).toMatchObject({
      account_id: account.accountId,
      sub: account.accountId,
      token_type: 'bearer',
    });
    expect(sdk.config['refresh_token']).toBe(token['refresh_token']);
  });

  it('hmacValid accepts the simulator’s push signatures (both active secrets) and rejects others', async () => {
    const account = sim.createAccount();
    const sdk = sdkFor(account);
    const { channel } = await sdk.createNotificationChannel({ callback_url: receiver.url });
    await sim.waitForDelivery((d) => d.channelId === channel['channel_id'] && d.type === 'verification');
    sim.upsertEvent(account.accountId, {
      calendar_id: account.calendarIds[0]!,
      summary: 'pushed',
      start: '2030-01-01',
      end: '2030-01-02',
    });
    await sim.waitForDelivery((d) => d.channelId === channel['channel_id'] && d.type === 'change');

    const pushes = receiver.received.filter((p) => p.json.channel.channel_id === channel['channel_id']);
    expect(pushes.map((p) => p.json.notification.type)).toEqual(['verification', 'change']);
    for (const push of pushes) {
      const header = push.headers['cronofy-hmac-sha256'] as string;
      expect(header.split(',')).toHaveLength(2);
      expect(push.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(
        sdk.hmacValid({ hmac: header, body: push.raw.toString('utf8'), client_secret: SECRETS[0] }),
      ).toBe(true);
      expect(
        sdk.hmacValid({ hmac: header, body: push.raw.toString('utf8'), client_secret: SECRETS[1] }),
      ).toBe(true);
      expect(
        sdk.hmacValid({ hmac: header, body: push.raw.toString('utf8'), client_secret: 'CRN_someone_else' }),
      ).toBe(false);
      expect(
        sdk.hmacValid({ hmac: header, body: `${push.raw.toString('utf8')} `, client_secret: SECRETS[0] }),
      ).toBe(false);
      expect(verifyCronofyHmac(push.raw, header, [SECRETS[1]!])).toEqual({ ok: true, secretIndex: 0 });
    }
  });

  it('userInfo, profileInformation and listCalendars answer through the SDK as our client reads them', async () => {
    const account = sim.createAccount({ calendarIds: ['cal_sdk_p1', 'cal_sdk_p2'] });
    sim.disconnectProfile(account.accountId);
    const sdk = sdkFor(account);
    const client = new CronofyClient({ baseUrl: sim.url, clientId: CLIENT_ID, clientSecret: SECRETS[0]! });
    const auth = {
      getAccessToken: async () => account.accessToken,
      refresh: async () => account.accessToken,
    };

    const info = await sdk.userInfo();
    expect(info['sub']).toBe(account.accountId);
    expect(info).toEqual(await client.userInfo(auth));
    const { profiles } = await sdk.profileInformation();
    expect(profiles).toMatchObject([{ profile_connected: false, profile_relink_url: expect.any(String) }]);
    expect(profiles).toEqual(await client.listProfiles(auth));
    const { calendars } = await sdk.listCalendars();
    expect(calendars.map((c) => c['calendar_id'])).toEqual(['cal_sdk_p1', 'cal_sdk_p2']);
    expect(calendars).toEqual(await client.listCalendars(auth));
  });

  it('readEvents with include_moved returns an event moved out of the window, at its new time', async () => {
    const account = sim.createAccount();
    const start = new Date(Date.now() + 2 * 86_400_000);
    const e = sim.upsertEvent(
      account.accountId,
      { calendar_id: account.calendarIds[0]!, summary: 'away', start, end: new Date(+start + 1_800_000) },
      { notify: false },
    );
    const far = new Date(+start + 300 * 86_400_000);
    sim.upsertEvent(
      account.accountId,
      { ...e, start: far, end: new Date(+far + 1_800_000) },
      { notify: false },
    );
    const sdk = sdkFor(account);
    expect((await sdk.readEvents({ tzid: 'Etc/UTC' })).events).toEqual([]);
    const moved = await sdk.readEvents({ tzid: 'Etc/UTC', include_moved: true });
    expect(moved.events).toMatchObject([
      { event_uid: e.event_uid, start: `${far.toISOString().slice(0, 19)}Z` },
    ]);
  });
});
