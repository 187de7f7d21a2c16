/**
 * The admin and read API on real servers (Temporal dev server, FerretDB/mongod, the Cronofy
 * simulator, a worker): bearer auth and its scope, validation, unknown accounts, the OpenAPI
 * document, and an account's whole lifecycle through a real port.
 */

import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/servers.js';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { CronofyClient } from '../../src/cronofy/client.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { AccountsRepo } from '../../src/store/accounts-repo.js';
import { collections } from '../../src/store/db.js';
import { TokenCrypto } from '../../src/store/token-crypto.js';
import { CronofySyncState } from '../../src/workflows/search-attributes.js';
import { uniqueName } from '../support/env.js';
import {
  ADMIN_TOKEN,
  eventually,
  type Stack,
  startStack,
  TEST_CLIENT_ID,
  TEST_SECRET,
} from '../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

type Json = Record<string, unknown>;

const accountsColl = () => stack.db.collection<{ _id: string; accountId: string; state: string }>('accounts');

/** A refresh at the simulator with `refreshToken`: its status (400 once the authorization is revoked). */
async function refreshAtSim(refreshToken: string): Promise<number> {
  const res = await fetch(`${stack.sim.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: TEST_CLIENT_ID,
      client_secret: TEST_SECRET,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    }),
  });
  return res.status;
}

async function inject(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  opts: { body?: unknown; auth?: string | null; app?: FastifyInstance } = {},
): Promise<{ status: number; body: Json; headers: Record<string, unknown> }> {
  const auth = opts.auth === undefined ? `Bearer ${ADMIN_TOKEN}` : opts.auth;
  const res = await (opts.app ?? stack.api.app).inject({
    method,
    url,
    headers: auth === null ? {} : { authorization: auth },
    ...(opts.body === undefined ? {} : { payload: opts.body as object }),
  });
  return { status: res.statusCode, body: res.body ? (res.json() as Json) : {}, headers: res.headers };
}

const day = (d: number, h = 9) => {
  const t = new Date(Date.now() + d * 86_400_000);
  t.setUTCHours(h, 0, 0, 0);
  return t;
};

/**
 * An admin app of our own, for what the shared stack cannot show (other config, captured logs):
 * the production wiring (`buildApp`) on the stack's database, with its own Temporal connection.
 */
async function ownAdminApp(opts: {
  env?: Record<string, string>;
  temporalTimeoutMs?: number;
  logs?: string[];
}) {
  const config = loadConfig({
    PUBLIC_URL: 'https://sync.example.test',
    CRONOFY_CLIENT_ID: TEST_CLIENT_ID,
    CRONOFY_CLIENT_SECRET: TEST_SECRET,
    CRONOFY_API_URL: stack.sim.url,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
    TEMPORAL_ADDRESS: stack.config.temporal.address,
    MONGODB_URI: stack.config.mongo.uri,
    MONGODB_DB: stack.config.mongo.db,
    // Workflows it starts are no business of the stack's worker.
    TEMPORAL_TASK_QUEUE: uniqueName('tq'),
    ...opts.env,
  });
  const connection = Connection.lazy({ address: config.temporal.address });
  const logs = opts.logs;
  const logger = logs
    ? createLogger('debug', { write: (line: string) => void logs.push(line) })
    : createLogger('silent');
  const { app, workflows } = await buildApp({
    config,
    db: stack.db,
    temporal: new Client({ connection, namespace: config.temporal.namespace }),
    logger,
    metrics: createMetrics(),
    tokenKeys: config.tokenEncryptionKeys,
    temporalTimeoutMs: opts.temporalTimeoutMs,
  });
  return {
    app,
    workflows,
    async close() {
      await app.close();
      // A connection to an unreachable server is left to the process: closing it while the SDK
      // retries a call makes that retry throw outside any promise.
      if (!opts.env?.TEMPORAL_ADDRESS) await connection.close().catch(() => undefined);
    },
  };
}

/** Runs `fn` with a Temporal client of the stack's server and namespace (its own connection). */
async function withTemporal<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: stack.config.temporal.address });
  try {
    return await fn(new Client({ connection, namespace: stack.config.temporal.namespace }));
  } finally {
    await connection.close();
  }
}

const workflowId = (accountId: string) => `cronofy-account:${accountId}`;

/**
 * What an operator finds in the Web UI: the workflow's `CronofySyncState` search attribute, and
 * whether a visibility query for that state lists it (visibility lags a little: polled).
 */
/** The account as `GET /accounts` (with `query`) lists it, following pages; undefined when absent. */
async function listed(query: string, accountId: string): Promise<Json | undefined> {
  for (let url: string | null = query; url; ) {
    const res = await stack.admin('GET', url);
    expect(res.status).toBe(200);
    const page = res.body as { accounts: Json[]; nextCursor: string | null };
    const found = page.accounts.find((a) => a.accountId === accountId);
    if (found) return found;
    url = page.nextCursor ? `${query}&cursor=${page.nextCursor}` : null;
  }
  return undefined;
}

function expectListedAs(accountId: string, state: string): Promise<void> {
  return withTemporal(async (client) => {
    const handle = client.workflow.getHandle(workflowId(accountId));
    await eventually(
      async () => (await handle.describe()).typedSearchAttributes.get(CronofySyncState) === state,
      10_000,
      `CronofySyncState = ${state}`,
    );
    await eventually(
      async () => {
        for await (const wf of client.workflow.list({
          query: `CronofySyncState = '${state}' AND WorkflowId = '${workflowId(accountId)}'`,
        }))
          return wf.workflowId === workflowId(accountId);
        return false;
      },
      10_000,
      `listed by CronofySyncState = '${state}'`,
    );
  });
}

/** The account workflow's history with every payload decoded, as one searchable text. */
function workflowHistoryText(accountId: string): Promise<string> {
  return withTemporal(async (client) => {
    const history = await client.workflow.getHandle(workflowId(accountId)).fetchHistory();
    const texts: string[] = [];
    const walk = (v: unknown): void => {
      if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
      else if (typeof v === 'string') texts.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(history);
    return texts.join('\n');
  });
}

const ROUTES: [method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown][] = [
  ['POST', '/accounts', { accountId: 'sneaky', accessToken: 'a', refreshToken: 'r' }],
  ['GET', '/accounts/sneaky'],
  ['POST', '/accounts/sneaky/sync', { mode: 'full' }],
  ['PUT', '/accounts/sneaky/tokens', { accessToken: 'a', refreshToken: 'r' }],
  ['DELETE', '/accounts/sneaky'],
  ['GET', '/accounts/sneaky/events'],
  ['GET', '/oauth/connect?accountId=sneaky'],
  ['GET', '/accounts?state=degraded'],
];

describe('bearer auth', () => {
  it('every admin route answers 401 without the right bearer, and does nothing', async () => {
    for (const auth of [
      null,
      'Bearer wrong-token',
      `Basic ${ADMIN_TOKEN}`,
      `Bearer ${ADMIN_TOKEN}x`,
      'Bearer ',
    ]) {
      for (const [method, url, body] of ROUTES) {
        const res = await inject(method, url, { body, auth });
        expect(res.status, `${method} ${url} with ${auth}`).toBe(401);
        expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
    }
    // Also before validation: a bad body without a token is 401, not 400.
    expect((await inject('POST', '/accounts', { body: { nonsense: 1 }, auth: null })).status).toBe(401);
    expect(await accountsColl().findOne({ _id: 'sneaky' })).toBeNull();
    expect(await stack.api.workflows.exists('sneaky')).toBe(false);

    // Through a real port as well.
    const res = await fetch(`${stack.apiUrl}/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      body: JSON.stringify({ accountId: 'sneaky', accessToken: 'a', refreshToken: 'r' }),
    });
    expect(res.status).toBe(401);
    expect(await accountsColl().countDocuments({ _id: 'sneaky' })).toBe(0);
  });

  it('is scoped to the admin routes: receiver, health, metrics, docs and the OAuth callback stay public', async () => {
    expect((await inject('GET', '/healthz', { auth: null })).status).toBe(200);
    expect((await inject('GET', '/docs/json', { auth: null })).status).toBe(200);
    const metrics = await stack.api.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    // The callback answers for itself (bad state), not with the admin 401.
    const cb = await inject('GET', '/oauth/callback?code=x&state=y', { auth: null });
    expect(cb).toMatchObject({ status: 400, body: { error: 'invalid_state' } });
    // The receiver has its own auth (HMAC).
    const rec = await stack.api.app.inject({
      method: 'POST',
      url: '/cronofy/notifications/someone',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(rec.statusCode).toBe(401);
    expect(rec.json()).toMatchObject({ error: 'invalid_signature' });
  });

  it('with no ADMIN_TOKEN configured, every admin call is 401', async () => {
    const own = await ownAdminApp({});
    try {
      for (const auth of ['Bearer ', 'Bearer undefined', `Bearer ${ADMIN_TOKEN}`, null]) {
        for (const [method, url, body] of ROUTES) {
          expect((await inject(method, url, { body, auth, app: own.app })).status).toBe(401);
        }
      }
    } finally {
      await own.close();
    }
  });
});

describe('validation', () => {
  // The full matrix of bad bodies, params and query strings runs without servers in
  // test/api/admin-validation.test.ts; here, that the real stack validates and refuses too.
  it('answers 400 { error, message } for bad input, and for a cursor the real reader refuses', async () => {
    // An account exists, so only validation can fail.
    await accountsColl().insertOne({ _id: 'valid-1', accountId: 'valid-1', state: 'active' });
    const body = { accountId: 'valid-1', accessToken: 'at', refreshToken: 'rt', calendarID: ['cal_1'] };
    expect(await inject('POST', '/accounts', { body })).toEqual(
      expect.objectContaining({
        status: 400,
        body: {
          error: 'invalid_request',
          message: expect.stringMatching(/additional properties: `calendarID`/),
        },
      }),
    );
    expect(await inject('GET', '/accounts/valid-1/events?from=2026-06-02&to=2026-06-01')).toMatchObject({
      status: 400,
      body: { error: 'invalid_range' },
    });
    const cursor = await inject('GET', '/accounts/valid-1/events?cursor=garbage!');
    expect(cursor).toMatchObject({ status: 400, body: { error: 'invalid_cursor' } });
    await accountsColl().deleteOne({ _id: 'valid-1' });
    expect(await stack.api.workflows.exists('valid-1')).toBe(false);
  });

  it('answers 404 for an account that is not registered', async () => {
    for (const [method, url, body] of ROUTES.slice(1, 6)) {
      const res = await inject(method, url.replace('sneaky', 'unknown-account'), { body });
      expect(res, `${method} ${url}`).toMatchObject({
        status: 404,
        body: { error: 'account_not_found', message: expect.stringContaining('unknown-account') },
      });
    }
  });
});

describe('OpenAPI document', () => {
  it('describes every admin route from its schemas, with bearer security', async () => {
    const doc = (await inject('GET', '/docs/json', { auth: null })).body as {
      paths: Record<
        string,
        Record<
          string,
          {
            security?: unknown;
            requestBody?: unknown;
            parameters?: unknown[];
            responses: Record<string, unknown>;
          }
        >
      >;
    };
    const ops = [
      ['/accounts', 'post'],
      ['/accounts/{accountId}', 'get'],
      ['/accounts/{accountId}', 'delete'],
      ['/accounts/{accountId}/sync', 'post'],
      ['/accounts/{accountId}/tokens', 'put'],
      ['/accounts/{accountId}/events', 'get'],
      ['/oauth/connect', 'get'],
    ] as const;
    for (const [path, method] of ops) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op?.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(op?.responses ?? {})).toContain('401');
    }
    expect(doc.paths['/oauth/callback']?.get?.security).toBeUndefined();
    expect(JSON.stringify(doc.paths['/accounts']?.post?.requestBody)).toContain('refreshToken');
    const eventsParams = JSON.stringify(doc.paths['/accounts/{accountId}/events']?.get?.parameters);
    for (const q of ['from', 'to', 'calendarId', 'includeDeleted', 'limit', 'cursor'])
      expect(eventsParams).toContain(`"${q}"`);
  });
});

describe('failures of Temporal and what is logged', () => {
  it('Temporal unreachable: 503 temporal_unavailable, quickly', async () => {
    const port = await freePort();
    const own = await ownAdminApp({
      env: { ADMIN_TOKEN, TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
      temporalTimeoutMs: 1500,
    });
    try {
      await accountsColl().insertOne({ _id: 'offline-1', accountId: 'offline-1', state: 'active' });
      const res = await inject('GET', '/accounts/offline-1', { app: own.app });
      expect(res).toMatchObject({ status: 503, body: { error: 'temporal_unavailable' } });
    } finally {
      await accountsColl().deleteOne({ _id: 'offline-1' });
      await own.close();
    }
  });

  it('tokens never reach the logs', async () => {
    const logs: string[] = [];
    const own = await ownAdminApp({ env: { ADMIN_TOKEN }, logs });
    try {
      const body = {
        accountId: uniqueName('logged'),
        accessToken: 'AT-must-not-leak',
        refreshToken: 'RT-must-not-leak',
      };
      expect((await inject('POST', '/accounts', { app: own.app, body })).status).toBe(201);
      const tokens = { accessToken: 'AT2-must-not-leak', refreshToken: 'RT2-must-not-leak' };
      expect(
        (await inject('PUT', `/accounts/${body.accountId}/tokens`, { app: own.app, body: tokens })).status,
      ).toBe(200);
      await inject('POST', '/accounts', { app: own.app, body: { ...body, accountId: '..' } });
      const text = logs.join('\n');
      expect(text).toContain(body.accountId);
      expect(text).not.toMatch(/must-not-leak/);
      expect(text).not.toContain(ADMIN_TOKEN);
    } finally {
      await own.close();
    }
  });
});

describe('an account from registration to purge, through a real port', () => {
  it('register → status → sync?wait → events → tokens → delete → purge', async () => {
    const { sim, db } = stack;
    const acc = sim.createAccount({ calendarIds: ['cal_work', 'cal_home'] });
    const id = acc.accountId;
    sim.upsertEvent(id, {
      calendar_id: 'cal_work',
      event_uid: 'seed-1',
      summary: 'Seed',
      start: day(1),
      end: day(1, 10),
    });

    // Register: 201, then 200 when repeated.
    const reg = { accountId: id, accessToken: acc.accessToken, refreshToken: acc.refreshToken };
    expect(await stack.admin('POST', '/accounts', reg)).toEqual({
      status: 201,
      body: { accountId: id, created: true },
    });
    expect(await stack.admin('POST', '/accounts', reg)).toEqual({
      status: 200,
      body: { accountId: id, created: false },
    });
    const raw = JSON.stringify(await accountsColl().findOne({ _id: id }));
    expect(raw).not.toContain(acc.accessToken);
    expect(raw).not.toContain(acc.refreshToken);

    // Status from the workflow: channel created, initial full sync done.
    const status = await eventually(
      async () => {
        const s = await stack.admin('GET', `/accounts/${id}`);
        const b = s.body as { channel?: { id?: string }; lastSyncs?: { full?: unknown } };
        return s.status === 200 && b.channel?.id && b.lastSyncs?.full ? (s.body as Json) : null;
      },
      20_000,
      'channel and initial full sync',
    );
    expect(status).toMatchObject({
      accountId: id,
      state: 'active',
      workflowRunning: true,
      source: 'workflow',
      channel: { id: sim.channels(id)[0]?.channel_id },
      lastSyncs: { full: { kind: 'full', upserted: 1 } },
      pending: { notifications: expect.any(Number) },
      dataCenter: 'us',
      calendarIds: null,
    });

    // Changes Cronofy does not push; a manual incremental sync, waited for, reports them.
    const created = [
      sim.upsertEvent(
        id,
        { calendar_id: 'cal_work', event_uid: 'w1', start: day(2), end: day(2, 10) },
        { notify: false },
      ),
      sim.upsertEvent(
        id,
        { calendar_id: 'cal_home', event_uid: 'h1', start: day(3), end: day(3, 10) },
        { notify: false },
      ),
      sim.upsertEvent(
        id,
        { calendar_id: 'cal_work', event_uid: 'w2', start: day(4), end: day(4, 10) },
        { notify: false },
      ),
      sim.upsertEvent(
        id,
        { calendar_id: 'cal_home', event_uid: 'h2', start: day(5), end: day(5, 10) },
        { notify: false },
      ),
    ];
    const inc = await stack.admin('POST', `/accounts/${id}/sync?wait=true`, { mode: 'incremental' });
    expect(inc).toMatchObject({
      status: 200,
      body: { kind: 'incremental', upserted: 4, deleted: 0, pages: expect.any(Number) },
    });

    sim.deleteEvent(id, 'w2', { notify: false });
    const full = await stack.admin('POST', `/accounts/${id}/sync?wait=true`, { mode: 'full' });
    expect(full).toMatchObject({
      status: 200,
      body: { kind: 'full', upserted: 1, deleted: 1, unchanged: 4 },
    });

    // Without waiting: 202, and the sync happens.
    const lastFull = (full.body as { finishedAt: string }).finishedAt;
    expect(await stack.admin('POST', `/accounts/${id}/sync`, { mode: 'full' })).toMatchObject({
      status: 202,
      body: { accountId: id, mode: 'full', status: 'queued' },
    });
    await eventually(
      async () => {
        const s = (await stack.admin('GET', `/accounts/${id}`)).body as {
          lastSyncs: { full: { at: string } };
        };
        return s.lastSyncs.full.at > lastFull;
      },
      15_000,
      'queued full sync',
    );

    // Events, two per page, in start order; tombstones only when asked.
    const pages: string[][] = [];
    let next: string | null = null;
    do {
      const q: string = `/accounts/${id}/events?limit=2${next ? `&cursor=${next}` : ''}`;
      const res = await stack.admin('GET', q);
      expect(res.status).toBe(200);
      const b = res.body as {
        events: { eventUid: string; startAt: string; deleted: boolean }[];
        nextCursor: string | null;
      };
      pages.push(b.events.map((e) => e.eventUid));
      next = b.nextCursor;
    } while (next);
    expect(pages).toEqual([
      ['seed-1', 'w1'],
      ['h1', 'h2'],
    ]);
    const withDeleted = await stack.admin(
      'GET',
      `/accounts/${id}/events?includeDeleted=true&calendarId=cal_work`,
    );
    const evs = (withDeleted.body as { events: Json[] }).events;
    expect(evs.map((e) => [e.eventUid, e.deleted])).toEqual([
      ['seed-1', false],
      ['w1', false],
      ['w2', true],
    ]);
    expect(evs[1]).toMatchObject({
      accountId: id,
      calendarId: 'cal_work',
      start: created[0]?.start,
      startAt: day(2).toISOString(),
      endAt: day(2, 10).toISOString(),
      allDay: false,
      updatedAt: new Date(created[0]?.updated as string).toISOString(),
      syncedAt: expect.any(String),
    });
    expect(evs[1]).not.toHaveProperty('contentHash');
    const ranged = await stack.admin(
      'GET',
      `/accounts/${id}/events?from=${day(3, 0).toISOString()}&to=${day(5, 0).toISOString().slice(0, 10)}`,
    );
    expect((ranged.body as { events: Json[] }).events.map((e) => e.eventUid)).toEqual(['h1']);
    // The same through inject, with its cursor refused on another query.
    const p1 = await inject('GET', `/accounts/${id}/events?limit=1`);
    expect(p1.status).toBe(200);
    const other = await inject(
      'GET',
      `/accounts/${id}/events?limit=1&calendarId=cal_home&cursor=${p1.body.nextCursor}`,
    );
    expect(other).toMatchObject({ status: 400, body: { error: 'invalid_cursor' } });

    // The user revokes access: a waited sync fails (502) and the account degrades.
    sim.revoke(id);
    const failed = await stack.admin('POST', `/accounts/${id}/sync?wait=true`, { mode: 'incremental' });
    expect(failed).toMatchObject({ status: 502, body: { error: 'sync_failed' } });
    await eventually(
      async () =>
        ((await stack.admin('GET', `/accounts/${id}`)).body as { state: string }).state === 'degraded',
      10_000,
      'degraded',
    );
    await expectListedAs(id, 'degraded');
    // The workflow's recorded state is what operators list: failing, and since when.
    expect(
      await listed(
        `/accounts?failing=true&failingSinceBefore=${new Date(Date.now() + 60_000).toISOString()}`,
        id,
      ),
    ).toMatchObject({
      state: 'degraded',
      failingSince: expect.any(String),
    });

    // They re-authorize: new tokens stored (encrypted with the current key), the account recovers.
    const cronofy = new CronofyClient({
      baseUrl: sim.url,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_SECRET,
    });
    const fresh = await cronofy.exchangeCode(sim.createAuthorizationCode(id), 'http://unused');
    const put = await stack.admin('PUT', `/accounts/${id}/tokens`, {
      accessToken: fresh.access_token,
      refreshToken: fresh.refresh_token,
    });
    expect(put).toEqual({ status: 200, body: { accountId: id, updated: true } });
    const repo = new AccountsRepo(
      collections(db).accounts,
      new TokenCrypto(stack.config.tokenEncryptionKeys),
    );
    expect(await repo.tokens(id)).toMatchObject({
      accessToken: fresh.access_token,
      refreshToken: fresh.refresh_token,
    });
    const ok = await stack.admin('POST', `/accounts/${id}/sync?wait=true`, { mode: 'incremental' });
    expect(ok).toMatchObject({ status: 200, body: { kind: 'incremental' } });
    await eventually(
      async () =>
        ((await stack.admin('GET', `/accounts/${id}`)).body as { state: string }).state === 'active',
      10_000,
      'active again',
    );
    await expectListedAs(id, 'active');
    expect(await listed('/accounts?state=active', id)).toMatchObject({ state: 'active', failingSince: null });
    expect(await listed('/accounts?failing=true', id)).toBeUndefined();

    // No token ever went through Temporal: not in inputs, signals, updates, activity results.
    const history = await workflowHistoryText(id);
    expect(history).toContain(`/cronofy/notifications/${id}`); // payloads are decoded: the input's callback URL
    for (const t of [acc.accessToken, acc.refreshToken, fresh.access_token, fresh.refresh_token]) {
      expect(history).not.toContain(t);
    }

    // Deregister: channel closed at Cronofy, workflow completed, account closed, events kept.
    expect(sim.channels(id)).toHaveLength(1);
    expect(await stack.admin('DELETE', `/accounts/${id}`)).toEqual({
      status: 202,
      body: { accountId: id, purge: false, status: 'deregistering' },
    });
    expect(await stack.api.workflows.result(id)).toMatchObject({ reason: 'deregistered', state: 'closed' });
    expect(sim.channels(id)).toHaveLength(0);
    await expectListedAs(id, 'closed');
    expect(await listed('/accounts?state=closed', id)).toMatchObject({
      state: 'closed',
      channelId: null,
      deregisteredAt: expect.any(String),
    });
    expect(await accountsColl().findOne({ _id: id })).toMatchObject({
      state: 'closed',
      deregisteredAt: expect.any(Date),
    });
    const closed = await stack.admin('GET', `/accounts/${id}`);
    expect(closed).toMatchObject({
      status: 200,
      body: {
        state: 'closed',
        workflowRunning: false,
        source: 'store',
        channel: { id: null },
        deregisteredAt: expect.any(String),
      },
    });
    expect((closed.body as { lastSyncs: Record<string, unknown> }).lastSyncs).toHaveProperty('full');
    expect(await stack.admin('POST', `/accounts/${id}/sync`, { mode: 'full' })).toMatchObject({
      status: 409,
      body: { error: 'account_closed' },
    });
    expect(
      await stack.admin('PUT', `/accounts/${id}/tokens`, { accessToken: 'a', refreshToken: 'r' }),
    ).toMatchObject({
      status: 409,
    });
    expect(await db.collection('events').countDocuments({ accountId: id })).toBe(5);
    expect((await stack.admin('GET', `/accounts/${id}/events`)).status).toBe(200);
    expect(await stack.admin('DELETE', `/accounts/${id}`)).toMatchObject({
      status: 202,
      body: { status: 'closed' },
    });

    // Purge the closed account: the Cronofy authorization is revoked; events, sync runs and the
    // account document go.
    const stored = await repo.tokens(id);
    expect(await db.collection('sync_runs').countDocuments({ accountId: id })).toBeGreaterThan(0);
    const purged = await stack.admin('DELETE', `/accounts/${id}?purge=true`);
    expect(purged).toEqual({
      status: 202,
      body: {
        accountId: id,
        purge: true,
        status: 'purged',
        removed: {
          authorization: 'revoked',
          events: 5,
          calendars: 2,
          syncRuns: expect.any(Number),
          account: true,
        },
      },
    });
    expect(await refreshAtSim(stored?.refreshToken as string)).toBe(400); // invalid_grant: revoked
    expect(await db.collection('sync_runs').countDocuments({ accountId: id })).toBe(0);
    expect(await db.collection('events').countDocuments({ accountId: id })).toBe(0);
    expect((await stack.admin('GET', `/accounts/${id}`)).status).toBe(404);
    expect((await stack.admin('GET', `/accounts/${id}/events`)).status).toBe(404);
    expect((await stack.admin('DELETE', `/accounts/${id}`)).status).toBe(404);
  });

  it('re-registering a closed account brings it back; DELETE ?purge=true on a live one purges through the workflow', async () => {
    const { sim, db } = stack;
    const acc = sim.createAccount({ calendarIds: ['cal_work'] });
    const id = acc.accountId;
    sim.upsertEvent(id, { calendar_id: 'cal_work', summary: 'One', start: day(2), end: day(2, 10) });
    const reg = {
      accountId: id,
      accessToken: acc.accessToken,
      refreshToken: acc.refreshToken,
      calendarIds: ['cal_work'],
    };
    expect((await stack.admin('POST', '/accounts', reg)).status).toBe(201);
    await eventually(async () => sim.channels(id).length === 1, 20_000, 'channel');
    expect((await stack.admin('DELETE', `/accounts/${id}`)).status).toBe(202);
    await stack.api.workflows.result(id);
    expect(sim.channels(id)).toHaveLength(0);

    expect(await stack.admin('POST', '/accounts', reg)).toEqual({
      status: 200,
      body: { accountId: id, created: false },
    });
    await eventually(async () => sim.channels(id).length === 1, 20_000, 'channel again');
    const status = (await stack.admin('GET', `/accounts/${id}`)).body;
    expect(status).toMatchObject({
      state: 'active',
      workflowRunning: true,
      calendarIds: ['cal_work'],
      deregisteredAt: null,
    });
    await eventually(
      async () => (await db.collection('events').countDocuments({ accountId: id })) === 1,
      20_000,
      'event',
    );

    // A slow channel close keeps the deregistration in progress: registering meanwhile is refused
    // (before: 200, and the workflow then closed the account it had just re-registered).
    const stored = await new AccountsRepo(
      collections(db).accounts,
      new TokenCrypto(stack.config.tokenEncryptionKeys),
    ).tokens(id);
    sim.injectFault({ method: 'DELETE', path: /^\/v1\/channels\//, delayMs: 2_000, times: 1 });
    expect(await stack.admin('DELETE', `/accounts/${id}?purge=true`)).toEqual({
      status: 202,
      body: {
        accountId: id,
        purge: true,
        status: 'deregistering',
        removes: ['cronofy_authorization', 'events', 'calendars', 'sync_runs', 'account'],
      },
    });
    expect(await stack.admin('POST', '/accounts', reg)).toMatchObject({
      status: 409,
      body: { error: 'deregistration_in_progress' },
    });
    await stack.api.workflows.result(id);
    expect(sim.channels(id)).toHaveLength(0);
    expect(await refreshAtSim(stored?.refreshToken as string)).toBe(400); // revoked by the workflow
    expect(await db.collection('sync_runs').countDocuments({ accountId: id })).toBe(0);
    expect(await db.collection('events').countDocuments({ accountId: id })).toBe(0);
    expect(await accountsColl().countDocuments({ _id: id })).toBe(0);
    expect((await stack.admin('GET', `/accounts/${id}`)).status).toBe(404);
  });

  it('a registered account whose workflow is not running: 409 workflow_not_running; status from the store', async () => {
    const { sim } = stack;
    const acc = sim.createAccount({ calendarIds: ['cal_work'] });
    const id = acc.accountId;
    const reg = { accountId: id, accessToken: acc.accessToken, refreshToken: acc.refreshToken };
    expect((await stack.admin('POST', '/accounts', reg)).status).toBe(201);
    await eventually(async () => sim.channels(id).length === 1, 20_000, 'channel');
    // An operator terminated the workflow in the Web UI (or it failed): the account document stays.
    await withTemporal((client) =>
      client.workflow.getHandle(workflowId(id)).terminate('test: operator terminated it'),
    );
    for (const path of [`/accounts/${id}/sync`, `/accounts/${id}/sync?wait=true`]) {
      const res = await stack.admin('POST', path, { mode: 'full' });
      expect(res.status, path).toBe(409);
      expect(res.body, path).toMatchObject({
        error: 'workflow_not_running',
        message: expect.stringContaining('PUT new tokens or register again'),
      });
    }
    expect(await stack.admin('GET', `/accounts/${id}`)).toMatchObject({
      status: 200,
      body: { accountId: id, workflowRunning: false, source: 'store' },
    });
    // Registering again restarts it, as the message says.
    expect((await stack.admin('POST', '/accounts', reg)).status).toBe(200);
    expect(await stack.admin('POST', `/accounts/${id}/sync`, { mode: 'incremental' })).toMatchObject({
      status: 202,
      body: { status: 'queued' },
    });
  });
});
