/**
 * CronofyClient against the simulator over real HTTP: paging and resume, the Read Events query,
 * the 401 → refresh → retry path, and every error class.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CronofyClient,
  type CronofyClientOptions,
  type CronofyResponseInfo,
} from '../../src/cronofy/client.js';
import {
  CronofyAuthRevokedError,
  CronofyClientError,
  type CronofyError,
  CronofyNetworkError,
  CronofyRateLimitedError,
  CronofyServerError,
} from '../../src/cronofy/errors.js';
import { CronofySimulator, type SimAccount } from '../../src/simulator/index.js';
import { CLIENT_ID, collect, MemoryAuth, SECRETS } from './helpers.js';

let sim: CronofySimulator;

beforeAll(async () => {
  sim = await CronofySimulator.start({
    clientId: CLIENT_ID,
    clientSecrets: SECRETS,
    pageSize: 3,
    rateLimit: false,
  });
});
afterAll(() => sim.stop());
beforeEach(() => sim.clearFaults());

function setup(opts: Partial<CronofyClientOptions> = {}) {
  const client = new CronofyClient({
    baseUrl: sim.url,
    clientId: CLIENT_ID,
    clientSecret: SECRETS[0]!,
    ...opts,
  });
  const account = sim.createAccount({ calendarIds: [`cal_a_${Math.random()}`, `cal_b_${Math.random()}`] });
  const auth = new MemoryAuth(client, account);
  return { client, account, auth };
}

function seed(account: SimAccount, count: number, extra: Record<string, unknown> = {}) {
  const day = new Date();
  for (let i = 0; i < count; i++) {
    const start = new Date(
      Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + (i % 5), 9, i),
    );
    sim.upsertEvent(
      account.accountId,
      {
        calendar_id: account.calendarIds[i % 2]!,
        summary: `event ${i}`,
        start,
        end: new Date(start.getTime() + 30 * 60_000),
        ...extra,
      },
      { notify: false },
    );
  }
}

/** Requests made since `mark` (an index into sim.requests). */
function since(mark: number) {
  return sim.requests
    .slice(mark)
    .map((r) => `${r.method} ${r.path.replace(/pages\/[\w-]+$/, 'pages/:id')} ${r.status}`);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('readEventsPages', () => {
  it('follows next_page to the end, yielding every event exactly once, page by page', async () => {
    const { client, account, auth } = setup();
    seed(account, 20);
    const mark = sim.requests.length;
    const pages = await collect(client.readEventsPages(auth, {}));
    expect(pages).toHaveLength(7);
    expect(pages.map((p) => p.pages.current)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(pages.every((p) => p.pages.total === 7)).toBe(true);
    expect(pages.slice(0, 6).every((p) => p.events.length === 3)).toBe(true);
    const uids = pages.flatMap((p) => p.events.map((e) => e.event_uid));
    expect(uids).toEqual(sim.truth(account.accountId).map((e) => e.event_uid));
    expect(new Set(uids).size).toBe(20);
    expect(pages[0]!.url).toMatch(/\/v1\/events\?tzid=Etc%2FUTC/);
    expect(pages[1]!.url).toBe(pages[0]!.pages.next_page);
    expect(pages[6]!.pages.next_page).toBeUndefined();
    // next_page is fetched as given: no query added.
    const pageRequests = sim.requests.slice(mark).filter((r) => r.path.startsWith('/v1/events/pages/'));
    expect(pageRequests).toHaveLength(6);
    expect(pageRequests.every((r) => r.query === '')).toBe(true);
  });

  it('resumes from a saved next_page URL without re-reading earlier pages', async () => {
    const { client, account, auth } = setup();
    seed(account, 20);
    const firstRun: string[] = [];
    let saved: string | undefined;
    for await (const page of client.readEventsPages(auth, {})) {
      firstRun.push(...page.events.map((e) => e.event_uid));
      saved = page.pages.next_page;
      if (page.pages.current === 3) break; // e.g. the activity failed here
    }
    expect(saved).toBeDefined();
    const mark = sim.requests.length;
    const rest = await collect(client.readEventsPages(auth, {}, { startUrl: saved }));
    expect(rest.map((p) => p.pages.current)).toEqual([4, 5, 6, 7]);
    const all = [...firstRun, ...rest.flatMap((p) => p.events.map((e) => e.event_uid))];
    expect(all).toEqual(sim.truth(account.accountId).map((e) => e.event_uid));
    expect(since(mark)).toEqual(Array(4).fill('GET /v1/events/pages/:id 200'));
  });

  it('sends tzid=Etc/UTC, dates, booleans as true/false and calendar_ids[] repeated', async () => {
    const { client, account, auth } = setup();
    const mark = sim.requests.length;
    await collect(
      client.readEventsPages(auth, {
        from: '2020-01-01',
        to: '2099-01-01',
        includeDeleted: true,
        includeManaged: false,
        calendarIds: account.calendarIds,
      }),
    );
    const query = new URLSearchParams(sim.requests[mark]!.query);
    expect(query.get('tzid')).toBe('Etc/UTC');
    expect(query.get('from')).toBe('2020-01-01');
    expect(query.get('to')).toBe('2099-01-01');
    expect(query.get('include_deleted')).toBe('true');
    expect(query.get('include_managed')).toBe('false');
    expect(query.getAll('calendar_ids[]')).toEqual(account.calendarIds);
    expect(query.has('last_modified')).toBe(false);
    expect(sim.requests[mark]!.status).toBe(200);
  });

  it('truncates milliseconds of last_modified (never rounds up, so the change is not missed)', async () => {
    const { client, account, auth } = setup();
    seed(account, 1);
    const updated = sim.truth(account.accountId)[0]!.updated!;
    const mark = sim.requests.length;
    const pages = await collect(
      client.readEventsPages(auth, {
        lastModified: new Date(Date.parse(updated) + 999),
        includeDeleted: true,
      }),
    );
    expect(new URLSearchParams(sim.requests[mark]!.query).get('last_modified')).toBe(updated);
    expect(pages[0]!.events).toHaveLength(1);
  });

  it('keeps fields it does not know', async () => {
    const { client, account, auth } = setup();
    seed(account, 1, {
      x_future_field: { nested: [1, 'two'] },
      conferencing: { provider_description: 'Zoom' },
    });
    const [page] = await collect(client.readEventsPages(auth, {}));
    expect(page!.events[0]!['x_future_field']).toEqual({ nested: [1, 'two'] });
    expect(page!.events[0]!['conferencing']).toEqual({ provider_description: 'Zoom' });
  });

  it('refreshes once when the token expires between pages and carries on from the same page', async () => {
    const { client, account, auth } = setup();
    seed(account, 9);
    const mark = sim.requests.length;
    const uids: string[] = [];
    for await (const page of client.readEventsPages(auth, {})) {
      uids.push(...page.events.map((e) => e.event_uid));
      if (page.pages.current === 1) sim.expireAccessTokens(account.accountId);
    }
    expect(uids).toEqual(sim.truth(account.accountId).map((e) => e.event_uid));
    expect(auth.refreshes).toBe(1);
    expect(since(mark)).toEqual([
      'GET /v1/events 200',
      'GET /v1/events/pages/:id 401',
      'POST /oauth/token 200',
      'GET /v1/events/pages/:id 200',
      'GET /v1/events/pages/:id 200',
    ]);
  });

  it('refuses a next_page on another origin, so the bearer token is never sent there', async () => {
    const { client, auth } = setup();
    let hits = 0;
    const other = http.createServer((_req, res) => {
      hits += 1;
      res.end('{}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const port = (other.address() as AddressInfo).port;
      const err = await rejection(
        collect(client.readEventsPages(auth, {}, { startUrl: `http://127.0.0.1:${port}/v1/events/pages/x` })),
      );
      expect(err).toBeInstanceOf(CronofyClientError);
      expect(hits).toBe(0);
    } finally {
      other.close();
    }
  });

  it('an unknown next_page is a 404 CronofyClientError', async () => {
    const { client, auth } = setup();
    const err = await rejection(
      collect(client.readEventsPages(auth, {}, { startUrl: `${sim.url}/v1/events/pages/doesnotexist` })),
    );
    expect(err).toBeInstanceOf(CronofyClientError);
    expect((err as CronofyClientError).status).toBe(404);
    expect((err as CronofyClientError).path).toBe('/v1/events/pages/doesnotexist');
  });
});

describe('channels', () => {
  it('creates, lists (identical request → same channel) and closes; closing again resolves on 404', async () => {
    const { client, account, auth } = setup();
    const channel = await client.createChannel(auth, {
      callbackUrl: 'http://127.0.0.1:9/hook',
      filters: { calendar_ids: [account.calendarIds[0]!] },
    });
    expect(channel.channel_id).toMatch(/^chn_/);
    expect(channel.filters).toEqual({ calendar_ids: [account.calendarIds[0]] });
    const again = await client.createChannel(auth, {
      callbackUrl: 'http://127.0.0.1:9/hook',
      filters: { calendar_ids: [account.calendarIds[0]!] },
    });
    expect(again.channel_id).toBe(channel.channel_id);
    expect((await client.listChannels(auth)).map((c) => c.channel_id)).toEqual([channel.channel_id]);

    const mark = sim.requests.length;
    await client.closeChannel(auth, channel.channel_id);
    await client.closeChannel(auth, channel.channel_id);
    expect(since(mark).map((s) => s.split(' ')[2])).toEqual(['202', '404']);
    expect(await client.listChannels(auth)).toEqual([]);
  });
});

describe('tokens', () => {
  it('401 → refresh → retry succeeds, and the rotated refresh token is the one kept', async () => {
    const { client, account, auth } = setup();
    sim.expireAccessTokens(account.accountId);
    const mark = sim.requests.length;
    await expect(client.listChannels(auth)).resolves.toEqual([]);
    expect(auth.refreshes).toBe(1);
    expect(since(mark)).toEqual(['GET /v1/channels 401', 'POST /oauth/token 200', 'GET /v1/channels 200']);
    expect(auth.refreshToken).not.toBe(account.refreshToken);
    // The old refresh token is dead after rotation.
    await expect(client.refreshToken(account.refreshToken)).rejects.toBeInstanceOf(CronofyAuthRevokedError);
  });

  it('a revoked account → CronofyAuthRevokedError (invalid_grant), not retryable', async () => {
    const { client, account, auth } = setup();
    sim.revoke(account.accountId);
    const err = await rejection(client.listChannels(auth));
    expect(err).toBeInstanceOf(CronofyAuthRevokedError);
    expect((err as CronofyAuthRevokedError).name).toBe('CronofyAuthRevokedError');
    expect((err as CronofyAuthRevokedError).reason).toBe('invalid_grant');
    expect((err as CronofyAuthRevokedError).retryable).toBe(false);
  });

  it('a 401 that persists after a refresh → CronofyAuthRevokedError after exactly one refresh', async () => {
    const { client, account } = setup();
    sim.expireAccessTokens(account.accountId);
    let refreshes = 0;
    const auth = {
      getAccessToken: async () => 'stale',
      refresh: async () => {
        refreshes += 1;
        return 'still-not-valid';
      },
    };
    const err = await rejection(client.listChannels(auth));
    expect(err).toBeInstanceOf(CronofyAuthRevokedError);
    expect((err as CronofyAuthRevokedError).reason).toBe('unauthorized_after_refresh');
    expect((err as CronofyAuthRevokedError).status).toBe(401);
    expect(refreshes).toBe(1);
  });

  it('wrong client credentials on refresh → CronofyClientError (config problem), secret not in the message', async () => {
    const { account } = setup();
    const client = new CronofyClient({
      baseUrl: sim.url,
      clientId: CLIENT_ID,
      clientSecret: 'CRN_wrong_secret_value',
    });
    const err = await rejection(client.refreshToken(account.refreshToken));
    expect(err).toBeInstanceOf(CronofyClientError);
    expect((err as CronofyClientError).status).toBe(401);
    expect((err as CronofyClientError).body).toEqual({ error: 'invalid_client' });
    expect(String(err)).not.toContain('CRN_wrong_secret_value');
    expect(String(err)).not.toContain(account.refreshToken);
  });

  it('exchangeCode: authorization_code grant returns tokens and sub; a used code is a client error', async () => {
    const { client, account } = setup();
    const code = sim.createAuthorizationCode(account.accountId, {
      redirectUri: 'http://localhost/oauth/callback',
    });
    const token = await client.exchangeCode(code, 'http://localhost/oauth/callback');
    expect(token.sub).toBe(account.accountId);
    expect(token.access_token).toEqual(expect.any(String));
    expect(token.refresh_token).toEqual(expect.any(String));
    expect(token['linking_profile']).toBeDefined();
    const err = await rejection(client.exchangeCode(code, 'http://localhost/oauth/callback'));
    expect(err).toBeInstanceOf(CronofyClientError);
    expect((err as CronofyClientError).status).toBe(400);
  });
});

describe('beforeRequest (where the rate limiter waits)', () => {
  it('runs before every HTTP request, and a long wait there does not eat into the request timeout', async () => {
    let calls = 0;
    const { client, auth } = setup({
      timeoutMs: 300,
      beforeRequest: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 500)); // longer than the timeout
      },
    });
    const channels = await client.listChannels(auth);
    expect(Array.isArray(channels)).toBe(true);
    expect(calls).toBe(1);
    // The timeout still applies to the request itself.
    sim.injectFault({ path: '/v1/channels', delayMs: 1_000, times: 1 });
    const err = await rejection(client.listChannels(auth));
    expect(err).toMatchObject({ name: 'CronofyNetworkError', reason: 'timeout' });
    expect(calls).toBe(2);
  });
});

describe('error mapping', () => {
  it('403, 402 → CronofyClientError with status and the parsed body', async () => {
    const { client, auth } = setup();
    sim.injectFault({ path: '/v1/channels', status: 403, body: { error: 'insufficient_scope' }, times: 1 });
    const e403 = await rejection(client.listChannels(auth));
    expect(e403).toBeInstanceOf(CronofyClientError);
    expect((e403 as CronofyClientError).status).toBe(403);
    expect((e403 as CronofyClientError).body).toEqual({ error: 'insufficient_scope' });
    expect((e403 as CronofyClientError).retryable).toBe(false);

    sim.injectFault({ path: '/v1/channels', status: 402, body: { error: 'plan' }, times: 1 });
    const e402 = await rejection(client.listChannels(auth));
    expect((e402 as CronofyClientError).status).toBe(402);

    // A real 402 from the simulator (no injected fault): include_geo needs a plan with geolocation.
    const geo = await rejection(collect(client.readEventsPages(auth, { includeGeo: true })));
    expect(geo).toBeInstanceOf(CronofyClientError);
    expect((geo as CronofyClientError).status).toBe(402);
    expect((geo as CronofyClientError).retryable).toBe(false);
    expect((geo as CronofyClientError).body).toMatchObject({
      errors: { include_geo: [{ key: 'errors.plan' }] },
    });
  });

  it('422 → CronofyClientError carrying Cronofy’s errors body', async () => {
    const { client, auth } = setup();
    const err = await rejection(client.createChannel(auth, { callbackUrl: 'not a url' }));
    expect(err).toBeInstanceOf(CronofyClientError);
    expect((err as CronofyClientError).status).toBe(422);
    expect((err as CronofyClientError).body).toEqual({
      errors: { callback_url: [{ key: 'errors.invalid_url', description: expect.any(String) }] },
    });
    expect((err as Error).message).toContain('callback_url: errors.invalid_url');
  });

  it('429 → CronofyRateLimitedError with retryAfterMs from seconds or an HTTP-date, or none', async () => {
    const { client, auth } = setup();
    sim.injectFault({ path: '/v1/channels', status: 429, retryAfter: '7', times: 1 });
    const seconds = await rejection(client.listChannels(auth));
    expect(seconds).toBeInstanceOf(CronofyRateLimitedError);
    expect((seconds as CronofyRateLimitedError).retryAfterMs).toBe(7000);
    expect((seconds as CronofyRateLimitedError).retryable).toBe(true);

    sim.injectFault({
      path: '/v1/channels',
      status: 429,
      retryAfter: new Date(Date.now() + 30_000).toUTCString(),
      times: 1,
    });
    const date = (await rejection(client.listChannels(auth))) as CronofyRateLimitedError;
    expect(date.retryAfterMs).toBeGreaterThan(25_000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(30_000);

    sim.injectFault({ path: '/v1/channels', status: 429, times: 1 });
    const none = (await rejection(client.listChannels(auth))) as CronofyRateLimitedError;
    expect(none).toBeInstanceOf(CronofyRateLimitedError);
    expect(none.retryAfterMs).toBeUndefined();
  });

  it('5xx and 423 → CronofyServerError (retryable); the client itself never retries', async () => {
    const { client, auth } = setup();
    for (const status of [500, 503, 423]) {
      sim.injectFault({ path: '/v1/channels', status, times: 1 });
      const mark = sim.requests.length;
      const err = await rejection(client.listChannels(auth));
      expect(err).toBeInstanceOf(CronofyServerError);
      expect((err as CronofyServerError).status).toBe(status);
      expect((err as CronofyServerError).retryable).toBe(true);
      expect(sim.requests.length - mark).toBe(1);
    }
  });

  it('a response slower than timeoutMs → CronofyNetworkError (timeout)', async () => {
    const { client, auth } = setup({ timeoutMs: 200 });
    sim.injectFault({ path: '/v1/channels', delayMs: 1500, times: 1 });
    const err = await rejection(client.listChannels(auth));
    // 'timeout' comes only from the client's own abort at timeoutMs, never from a late answer.
    expect(err).toBeInstanceOf(CronofyNetworkError);
    expect((err as CronofyNetworkError).reason).toBe('timeout');
  });

  it('a dropped connection and a refused connection → CronofyNetworkError (network)', async () => {
    const { client, auth, account } = setup();
    sim.injectFault({ path: '/v1/channels', drop: true, times: 1 });
    const dropped = await rejection(client.listChannels(auth));
    expect(dropped).toBeInstanceOf(CronofyNetworkError);
    expect((dropped as CronofyNetworkError).reason).toBe('network');
    expect(sim.requests.at(-1)!.status).toBe('dropped');

    const nowhere = new CronofyClient({
      baseUrl: 'http://127.0.0.1:1',
      clientId: CLIENT_ID,
      clientSecret: SECRETS[0]!,
    });
    const refused = await rejection(nowhere.listChannels(new MemoryAuth(nowhere, account)));
    expect(refused).toBeInstanceOf(CronofyNetworkError);
    expect((refused as CronofyNetworkError).reason).toBe('network');
  });

  it('never puts tokens, secrets or query strings into errors', async () => {
    const { client, account, auth } = setup();
    sim.injectFault({ path: '/v1/events', status: 500, times: 1 });
    const err = (await rejection(
      collect(client.readEventsPages(auth, { calendarIds: account.calendarIds, lastModified: new Date() })),
    )) as CronofyError;
    expect(err).toBeInstanceOf(CronofyServerError);
    expect(err.path).toBe('/v1/events');
    expect(err.method).toBe('GET');
    const text = `${String(err)} ${JSON.stringify({ ...err })}`;
    for (const secret of [
      account.accessToken,
      account.refreshToken,
      SECRETS[0]!,
      'tzid',
      account.calendarIds[0]!,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('onResponse metrics hook', () => {
  it('reports every HTTP exchange with a route template, and a throwing hook breaks nothing', async () => {
    const seen: CronofyResponseInfo[] = [];
    const { client, account, auth } = setup({
      onResponse: (info) => {
        seen.push(info);
        throw new Error('broken metrics');
      },
    });
    const channel = await client.createChannel(auth, { callbackUrl: 'http://127.0.0.1:9/hook' });
    sim.expireAccessTokens(account.accountId);
    await client.closeChannel(auth, channel.channel_id);
    expect(seen.map((s) => `${s.method} ${s.path} ${s.status}`)).toEqual([
      'POST /v1/channels 200',
      'DELETE /v1/channels/:channel_id 401',
      'POST /oauth/token 200',
      'DELETE /v1/channels/:channel_id 202',
    ]);
    expect(seen.every((s) => s.ms >= 0)).toBe(true);

    sim.injectFault({ path: '/v1/channels', drop: true, times: 1 });
    await rejection(client.listChannels(auth));
    expect(seen.at(-1)).toMatchObject({ method: 'GET', path: '/v1/channels', status: 'error' });
  });
});

/**
 * A stand-in for Cronofy that holds every request until the test releases it, and records when the
 * client hangs up: a request "in flight" for as long as the test needs.
 */
async function holdingServer() {
  const held: Array<{ res: http.ServerResponse; hungUp: Promise<void> }> = [];
  let arrived: () => void = () => undefined;
  const server = http.createServer((req, res) => {
    // `close` on the response before it was sent = the client hung up.
    const hungUp = new Promise<void>((resolve) => res.on('close', () => resolve()));
    req.resume();
    held.push({ res, hungUp });
    arrived();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    /** Resolves once `n` requests have arrived. */
    async requests(n: number): Promise<void> {
      while (held.length < n) await new Promise<void>((resolve) => (arrived = resolve));
    },
    /** Answers every held request that is still open with an empty channel list. */
    release(): void {
      for (const { res } of held) {
        if (!res.destroyed && !res.headersSent) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"channels":[]}');
        }
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const staticAuth = { getAccessToken: async () => 'token', refresh: async () => 'token' };

describe('cancellation (the calling activity was cancelled or timed out)', () => {
  it('a request in flight is abandoned when the signal aborts, with the signal’s reason, not a network error', async () => {
    const server = await holdingServer();
    try {
      const seen: CronofyResponseInfo[] = [];
      const ac = new AbortController();
      const client = new CronofyClient({
        baseUrl: server.url,
        clientId: CLIENT_ID,
        clientSecret: SECRETS[0]!,
        // Far longer than the test: only the signal can end the request.
        timeoutMs: 600_000,
        onResponse: (info) => seen.push(info),
        signal: ac.signal,
      });
      const call = rejection(client.listChannels(staticAuth));
      await server.requests(1);
      const reason = new Error('activity cancelled');
      ac.abort(reason);
      // Cronofy answers after the cancellation: a client that ignored the signal would take it.
      await server.held[0]!.hungUp;
      server.release();
      const err = await call;
      expect(err).toBe(reason);
      expect(err).not.toBeInstanceOf(CronofyNetworkError);
      // Not reported as a Cronofy failure (`error`) in the call metrics.
      expect(seen).toEqual([expect.objectContaining({ path: '/v1/channels', status: 'cancelled' })]);
    } finally {
      await server.close();
    }
  }, 15_000);

  it('a plain abort gives an AbortError (what Temporal reports as a cancelled attempt)', async () => {
    const server = await holdingServer();
    try {
      const ac = new AbortController();
      const client = new CronofyClient({
        baseUrl: server.url,
        clientId: CLIENT_ID,
        clientSecret: SECRETS[0]!,
        timeoutMs: 600_000,
        signal: ac.signal,
      });
      const call = rejection(collect(client.readEventsPages(staticAuth, {})));
      await server.requests(1);
      ac.abort();
      // Released only once the client has hung up: without cancellation the test would get the page.
      await server.held[0]!.hungUp;
      server.release();
      const err = await call;
      expect(err).toMatchObject({ name: 'AbortError' });
      expect(err).not.toBeInstanceOf(CronofyNetworkError);
    } finally {
      await server.close();
    }
  }, 15_000);

  it('the wait in beforeRequest gets the signal, and a call cancelled there never reaches Cronofy', async () => {
    let fetched = 0;
    const ac = new AbortController();
    let hookSignal: AbortSignal | undefined;
    const client = new CronofyClient({
      baseUrl: 'http://127.0.0.1:9',
      clientId: CLIENT_ID,
      clientSecret: SECRETS[0]!,
      fetch: async () => {
        fetched++;
        return new Response('{"channels":[]}', { status: 200 });
      },
      // Like the rate limiter: waits until the signal aborts, then rejects with its reason.
      beforeRequest: (signal) => {
        hookSignal = signal;
        return new Promise<void>((_, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          ac.abort(new Error('cancelled while waiting for budget'));
        });
      },
      signal: ac.signal,
    });
    const err = await rejection(client.listChannels(staticAuth));
    expect(hookSignal).toBe(ac.signal);
    expect(err).toMatchObject({ message: 'cancelled while waiting for budget' });
    expect(fetched).toBe(0);
    // Already cancelled: the next call does not even wait.
    await expect(client.listChannels(staticAuth)).rejects.toThrow('cancelled while waiting for budget');
    expect(fetched).toBe(0);
  }, 15_000);

  it('withSignal binds a signal to a copy of the client that keeps its options and hooks', async () => {
    const server = await holdingServer();
    try {
      const seen: CronofyResponseInfo[] = [];
      const hookSignals: Array<AbortSignal | undefined> = [];
      const shared = new CronofyClient({
        baseUrl: server.url,
        clientId: CLIENT_ID,
        clientSecret: SECRETS[0]!,
        timeoutMs: 600_000,
        onResponse: (info) => seen.push(info),
        beforeRequest: async (signal) => {
          hookSignals.push(signal);
        },
      });
      const ac = new AbortController();
      const bound = shared.withSignal(ac.signal);
      const cancelled = rejection(bound.listChannels(staticAuth));
      const other = shared.listChannels(staticAuth);
      await server.requests(2);
      ac.abort();
      await cancelled;
      // The shared client is not cancelled with the bound copy.
      server.release();
      expect(await other).toEqual([]);
      expect(hookSignals).toEqual([ac.signal, undefined]);
      expect(seen.map((s) => s.status).sort()).toEqual([200, 'cancelled']);
    } finally {
      await server.close();
    }
  }, 15_000);
});

describe('include_moved', () => {
  it('includeMoved sends include_moved=true and brings back an event moved out of the window, with its new times', async () => {
    const { client, account, auth } = setup();
    const today = new Date();
    const tuesday = new Date(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 3, 10),
    );
    const meeting = sim.upsertEvent(
      account.accountId,
      {
        calendar_id: account.calendarIds[0]!,
        summary: 'moved',
        start: tuesday,
        end: new Date(+tuesday + 3_600_000),
      },
      { notify: false },
    );
    const far = new Date(+tuesday + 250 * 86_400_000);
    const moved = sim.upsertEvent(
      account.accountId,
      { ...meeting, start: far, end: new Date(+far + 3_600_000) },
      { notify: false },
    );
    const params = { includeDeleted: true, lastModified: moved.updated };
    const without = await collect(client.readEventsPages(auth, params));
    expect(without.flatMap((p) => p.events)).toEqual([]);
    const mark = sim.requests.length;
    const withMoved = (
      await collect(client.readEventsPages(auth, { ...params, includeMoved: true }))
    ).flatMap((p) => p.events);
    expect(new URLSearchParams(sim.requests[mark]!.query).get('include_moved')).toBe('true');
    expect(withMoved).toMatchObject([{ event_uid: meeting.event_uid, start: moved.start, deleted: false }]);
  });
});

describe('profiles, calendars and UserInfo', () => {
  it('userInfo, listProfiles and listCalendars return Cronofy’s shapes, unknown fields kept', async () => {
    const client = new CronofyClient({ baseUrl: sim.url, clientId: CLIENT_ID, clientSecret: SECRETS[0]! });
    const account = sim.createAccount({
      profiles: [
        { profileId: `pro_a_${Math.random()}`, calendarIds: [`cal_p1_${Math.random()}`] },
        { providerName: 'apple', calendarIds: [`cal_p2_${Math.random()}`] },
      ],
    });
    const auth = new MemoryAuth(client, account);
    const [first, second] = sim.profiles(account.accountId);
    sim.disconnectProfile(account.accountId, second!.profileId);

    const info = await client.userInfo(auth);
    expect(info.sub).toBe(account.accountId);
    const profiles = info['cronofy.data']?.profiles ?? [];
    expect(profiles.map((p) => [p.profile_id, p.profile_connected])).toEqual([
      [first!.profileId, true],
      [second!.profileId, false],
    ]);
    expect(profiles[1]!.profile_relink_url).toEqual(expect.any(String));
    expect(profiles[0]!.profile_calendars?.map((c) => c.calendar_id)).toEqual(first!.calendarIds);
    // Fields the types do not name are kept.
    expect(info['cronofy.data']?.authorization?.status).toBe('active');
    expect(profiles[0]!.profile_calendars?.[0]?.['calendar_integrated_conferencing_available']).toBe(false);

    const listed = await client.listProfiles(auth);
    expect(listed).toEqual(profiles.map(({ profile_calendars: _c, ...p }) => p));

    const calendars = await client.listCalendars(auth);
    expect(calendars.map((c) => [c.calendar_id, c.profile_id])).toEqual([
      [first!.calendarIds[0], first!.profileId],
      [second!.calendarIds[0], second!.profileId],
    ]);
  });

  it('refreshes once on 401; a body without the list or sub is a CronofyServerError', async () => {
    const { client, account, auth } = setup();
    sim.expireAccessTokens(account.accountId);
    const mark = sim.requests.length;
    await expect(client.listProfiles(auth)).resolves.toHaveLength(1);
    expect(since(mark)).toEqual(['GET /v1/profiles 401', 'POST /oauth/token 200', 'GET /v1/profiles 200']);

    sim.injectFault({ path: '/v1/calendars', status: 200, body: { profiles: [] }, times: 1 });
    expect(await rejection(client.listCalendars(auth))).toBeInstanceOf(CronofyServerError);
    sim.injectFault({ path: '/v1/userinfo', status: 200, body: { 'cronofy.data': {} }, times: 1 });
    expect(await rejection(client.userInfo(auth))).toBeInstanceOf(CronofyServerError);
    sim.injectFault({ path: '/v1/userinfo', status: 403, times: 1 });
    expect(await rejection(client.userInfo(auth))).toBeInstanceOf(CronofyClientError);
  });
});
