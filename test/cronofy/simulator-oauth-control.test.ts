/**
 * The simulator's token endpoint (rotation, client checks, revocation, codes), its JSON control
 * API under /_sim/ (what `npm run dev` uses), and the CLI entry that prints its URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimulatorArgs } from '../../src/simulator/cli.js';
import { CronofySimulator } from '../../src/simulator/index.js';
import { CLIENT_ID, SECRETS, startReceiver } from './helpers.js';

let clock = new Date('2025-03-01T08:00:00Z');
let sim: CronofySimulator;

beforeAll(async () => {
  sim = await CronofySimulator.start({
    clientId: CLIENT_ID,
    clientSecrets: SECRETS,
    rateLimit: false,
    accessTokenTtlMs: 60_000,
    now: () => clock,
  });
});
afterAll(() => sim.stop());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const form = headers['Content-Type'] === 'application/x-www-form-urlencoded';
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body:
      body === undefined
        ? undefined
        : form
          ? new URLSearchParams(body as Record<string, string>).toString()
          : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const grant = (refreshToken: string, secret = SECRETS[0]!) => ({
  client_id: CLIENT_ID,
  client_secret: secret,
  grant_type: 'refresh_token',
  refresh_token: refreshToken,
});

describe('POST /oauth/token', () => {
  it('refresh rotates the refresh token; the old one is refused afterwards', async () => {
    const account = sim.createAccount();
    const first = await call('POST', '/oauth/token', grant(account.refreshToken));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      token_type: 'bearer',
      expires_in: 60,
      scope: expect.stringContaining('read_events'),
    });
    expect(first.body.refresh_token).not.toBe(account.refreshToken);
    expect(await call('POST', '/oauth/token', grant(account.refreshToken))).toEqual({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    // Any active client secret is accepted, and form encoding works like JSON.
    const second = await call('POST', '/oauth/token', grant(first.body.refresh_token, SECRETS[1]), {
      'Content-Type': 'application/x-www-form-urlencoded',
    });
    expect(second.status).toBe(200);
  });

  it('checks the client and the grant type', async () => {
    const account = sim.createAccount();
    expect(await call('POST', '/oauth/token', grant(account.refreshToken, 'CRN_wrong'))).toEqual({
      status: 401,
      body: { error: 'invalid_client' },
    });
    expect(
      await call('POST', '/oauth/token', { ...grant(account.refreshToken), client_id: 'other' }),
    ).toMatchObject({ status: 401 });
    expect(
      await call('POST', '/oauth/token', { ...grant(account.refreshToken), grant_type: 'password' }),
    ).toEqual({
      status: 400,
      body: { error: 'unsupported_grant_type' },
    });
    // The refresh token was not consumed by the refused requests.
    expect((await call('POST', '/oauth/token', grant(account.refreshToken))).status).toBe(200);
  });

  it('access tokens expire by the simulator clock', async () => {
    const account = sim.createAccount();
    const auth = { Authorization: `Bearer ${account.accessToken}` };
    expect((await call('GET', '/v1/channels', undefined, auth)).status).toBe(200);
    clock = new Date(clock.getTime() + 61_000);
    expect((await call('GET', '/v1/channels', undefined, auth)).status).toBe(401);
  });

  it('revocation: 401 for access tokens, invalid_grant for refresh; a new code re-authorizes', async () => {
    const account = sim.createAccount();
    sim.revoke(account.accountId);
    expect(
      (await call('GET', '/v1/channels', undefined, { Authorization: `Bearer ${account.accessToken}` }))
        .status,
    ).toBe(401);
    expect(await call('POST', '/oauth/token', grant(account.refreshToken))).toEqual({
      status: 400,
      body: { error: 'invalid_grant' },
    });

    const code = sim.createAuthorizationCode(account.accountId, { redirectUri: 'http://localhost/cb' });
    const wrongRedirect = await call('POST', '/oauth/token', {
      client_id: CLIENT_ID,
      client_secret: SECRETS[0],
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'http://evil/cb',
    });
    expect(wrongRedirect).toEqual({ status: 400, body: { error: 'invalid_grant' } });
    const code2 = sim.createAuthorizationCode(account.accountId, { redirectUri: 'http://localhost/cb' });
    const exchanged = await call('POST', '/oauth/token', {
      client_id: CLIENT_ID,
      client_secret: SECRETS[0],
      grant_type: 'authorization_code',
      code: code2,
      redirect_uri: 'http://localhost/cb',
    });
    expect(exchanged.status).toBe(200);
    expect(exchanged.body).toMatchObject({ account_id: account.accountId, sub: account.accountId });
    expect(
      (
        await call('GET', '/v1/channels', undefined, {
          Authorization: `Bearer ${exchanged.body.access_token}`,
        })
      ).status,
    ).toBe(200);
  });
});

describe('control API /_sim/', () => {
  it('drives accounts, events, notifications, faults and logs over HTTP', async () => {
    const receiver = await startReceiver();
    try {
      expect(await call('GET', '/_sim/health')).toEqual({ status: 200, body: { ok: true, url: sim.url } });
      const created = await call('POST', '/_sim/accounts', {
        accountId: 'acc_ctl',
        calendarIds: ['cal_ctl'],
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ accountId: 'acc_ctl', calendarIds: ['cal_ctl'] });
      const bearer = { Authorization: `Bearer ${created.body.accessToken}` };
      expect((await call('POST', '/_sim/accounts', { accountId: 'acc_ctl' })).status).toBe(400);

      expect((await call('POST', '/v1/channels', { callback_url: receiver.url }, bearer)).status).toBe(200);
      const event = await call('POST', '/_sim/accounts/acc_ctl/events', {
        calendar_id: 'cal_ctl',
        summary: 'from control',
        start: '2025-03-02T10:00:00Z',
        end: '2025-03-02T11:00:00Z',
      });
      expect(event.status).toBe(201);
      expect(event.body.event).toMatchObject({ summary: 'from control', deleted: false });
      expect(
        (
          await call('POST', '/_sim/accounts/acc_ctl/events', {
            calendar_id: 'cal_other',
            start: 'x',
            end: 'y',
          })
        ).status,
      ).toBe(400);

      const uid = event.body.event.event_uid;
      expect((await call('DELETE', `/_sim/accounts/acc_ctl/events/${uid}`)).body.event.deleted).toBe(true);
      expect((await call('GET', '/_sim/accounts/acc_ctl/events')).body.events).toEqual([]);
      expect(
        (await call('GET', '/_sim/accounts/acc_ctl/events?include_deleted=true')).body.events,
      ).toHaveLength(1);

      expect(
        (
          await call('POST', '/_sim/accounts/acc_ctl/notifications', {
            type: 'profile_initial_sync_completed',
          })
        ).status,
      ).toBe(202);
      await sim.waitForDelivery(
        (d) => d.accountId === 'acc_ctl' && d.type === 'profile_initial_sync_completed',
      );
      const deliveries = (await call('GET', '/_sim/deliveries')).body.deliveries as {
        accountId: string;
        type: string;
      }[];
      expect(deliveries.filter((d) => d.accountId === 'acc_ctl').map((d) => d.type)).toEqual(
        expect.arrayContaining(['verification', 'change', 'profile_initial_sync_completed']),
      );

      expect(
        (await call('POST', '/_sim/faults', { pathPattern: '^/v1/chan', status: 503, times: 1 })).status,
      ).toBe(201);
      expect((await call('GET', '/v1/channels', undefined, bearer)).status).toBe(503);
      expect((await call('GET', '/v1/channels', undefined, bearer)).status).toBe(200);
      expect((await call('POST', '/_sim/faults', { status: 503, times: 1 })).status).toBe(400);
      const requests = (await call('GET', '/_sim/requests')).body.requests as {
        path: string;
        status: number;
        fault?: boolean;
      }[];
      expect(requests.filter((r) => r.path === '/v1/channels').slice(-2)).toMatchObject([
        { status: 503, fault: true },
        { status: 200 },
      ]);
      expect(requests.some((r) => r.path.startsWith('/_sim'))).toBe(false);

      const channels = (await call('GET', '/_sim/accounts/acc_ctl/channels')).body.channels as {
        channel_id: string;
      }[];
      expect(channels).toHaveLength(1);
      expect(
        (await call('DELETE', `/_sim/accounts/acc_ctl/channels/${channels[0]!.channel_id}`)).status,
      ).toBe(204);
      expect((await call('GET', '/v1/channels', undefined, bearer)).body).toEqual({ channels: [] });
      expect((await call('GET', '/_sim/closed-channels')).body.closedChannels).toMatchObject([
        { accountId: 'acc_ctl', reason: 'silent' },
      ]);

      expect((await call('POST', '/_sim/accounts/acc_ctl/expire-tokens')).status).toBe(204);
      expect((await call('GET', '/v1/channels', undefined, bearer)).status).toBe(401);
      const code = await call('POST', '/_sim/accounts/acc_ctl/authorization-codes', {
        redirectUri: 'http://localhost/cb',
      });
      expect(code.body.code).toEqual(expect.any(String));
      expect((await call('POST', '/_sim/accounts/acc_ctl/revoke')).status).toBe(204);
      expect((await call('POST', '/oauth/token', grant(created.body.refreshToken))).status).toBe(400);
      expect((await call('GET', '/_sim/accounts/acc_nope/events')).status).toBe(404);
    } finally {
      await receiver.close();
    }
  });
});

describe('CLI', () => {
  it('parses flags over the environment, with the service’s variable names', () => {
    const fromEnv = parseSimulatorArgs([], {
      CRONOFY_CLIENT_ID: 'env-id',
      CRONOFY_CLIENT_SECRET: 'CRN_a, CRN_b',
      CRONOFY_SIM_PORT: '8181',
      CRONOFY_SIM_RATE_LIMIT: '0',
    });
    expect(fromEnv).toMatchObject({
      clientId: 'env-id',
      clientSecrets: ['CRN_a', 'CRN_b'],
      port: 8181,
      rateLimit: false,
      host: '127.0.0.1',
    });
    const fromFlags = parseSimulatorArgs(
      [
        '--client-id',
        'flag-id',
        '--client-secret',
        'CRN_1',
        '--client-secret',
        'CRN_2',
        '--port',
        '0',
        '--page-size',
        '7',
      ],
      { CRONOFY_CLIENT_ID: 'env-id', CRONOFY_SIM_PORT: '8181' },
    );
    expect(fromFlags).toMatchObject({
      clientId: 'flag-id',
      clientSecrets: ['CRN_1', 'CRN_2'],
      port: 0,
      pageSize: 7,
      rateLimit: undefined,
    });
    expect(() => parseSimulatorArgs(['--port', 'x'], {})).toThrow(/port/);
    expect(() => parseSimulatorArgs(['--bogus'], {})).toThrow();
  });

  it('main.ts starts a simulator and prints its URL on the first stdout line', async () => {
    let child: ChildProcess | undefined;
    try {
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/simulator/main.ts',
          '--port',
          '0',
          '--client-id',
          'cli',
          '--client-secret',
          'CRN_cli',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
      );
      const firstLine = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: child!.stdout! });
        lines.once('line', resolve);
        child!.once('exit', (code) => reject(new Error(`exited with ${code}`)));
        setTimeout(() => reject(new Error('no URL printed in time')), 20_000);
      });
      expect(firstLine).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${firstLine}/_sim/health`);
      expect(await health.json()).toEqual({ ok: true, url: firstLine });
      const account = (await (await fetch(`${firstLine}/_sim/accounts`, { method: 'POST' })).json()) as {
        refreshToken: string;
      };
      const token = await fetch(`${firstLine}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          client_id: 'cli',
          client_secret: 'CRN_cli',
          grant_type: 'refresh_token',
          refresh_token: account.refreshToken,
        }),
      });
      expect(token.status).toBe(200);
    } finally {
      if (child?.pid !== undefined && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 30_000);
});
