/**
 * The API process with MongoDB unreachable at start, through the real runtime (`startApi`) on real
 * ports, with a MongoDB and a Temporal dev server only this file uses: the receiver serves pushes
 * (202 with Temporal up, 503 with it down), the admin and read API answers 503 `mongo_unavailable`,
 * the receiver's readiness probe stays green while the full API's is red, and the admin API works
 * once MongoDB comes back, without a restart. `/metrics` and `/docs` are on the internal listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/servers.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { type ApiRuntime, startApi } from '../../src/runtime.js';
import {
  type IsolatedServer,
  isolatedMongo,
  isolatedTemporal,
  type MongoInfo,
  type TemporalInfo,
  uniqueName,
} from '../support/env.js';
import { eventually } from '../support/stack.js';
import { JSON_CT } from './cases.js';
import { changeBody, NEW_SECRET, sign } from './support.js';

const ADMIN = 'mongo-outage-admin-token-0123456789';

describe('API started with MongoDB unreachable (isolated MongoDB and Temporal, real runtime)', () => {
  let mongo: IsolatedServer<MongoInfo>;
  let temporal: IsolatedServer<TemporalInfo>;
  let api: ApiRuntime;
  let url: string;
  let internalUrl: string;

  const push = async (accountId: string) => {
    const body = changeBody({ accountId });
    const res = await fetch(`${url}/cronofy/notifications/${accountId}`, {
      method: 'POST',
      headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const probe = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    [mongo, temporal] = await Promise.all([isolatedMongo(), isolatedTemporal()]);
    await mongo.stop();
    const config = loadConfig({
      CRONOFY_CLIENT_ID: 'mongo-outage',
      CRONOFY_CLIENT_SECRET: NEW_SECRET,
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 4).toString('base64'),
      ADMIN_TOKEN: ADMIN,
      PUBLIC_URL: 'https://mongo-outage.example.test',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      INTERNAL_PORT: String(await freePort()),
      INTERNAL_HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: temporal.info.address,
      TEMPORAL_TASK_QUEUE: uniqueName('mongo-outage'),
      MONGODB_URI: mongo.info.uri,
      MONGODB_DB: uniqueName('mongo-outage'),
      LOG_LEVEL: 'silent',
    });
    // Before: startApi awaited MongoDB and rejected (the process exited) while it was down.
    api = await startApi(config, { logger: createLogger(process.env.DEBUG_LOG ?? 'silent') });
    url = api.url;
    internalUrl = api.internalUrl as string;
  });
  afterAll(async () => {
    await api?.close();
    await Promise.all([mongo?.close(), temporal?.close()]);
  });

  it('takes a valid push (202), and the receiver probe is ready while the full API probe is not', async () => {
    const accountId = uniqueName('acc_mongo_down');
    expect(await push(accountId)).toEqual({
      status: 202,
      body: { status: 'accepted', type: 'change', signalled: true },
    });
    expect(await api.workflows.exists(accountId)).toBe(true);
    expect(await probe('/readyz/receiver')).toEqual({
      status: 200,
      body: { status: 'ready', temporal: true },
    });
    expect(await probe('/readyz')).toEqual({
      status: 503,
      body: { status: 'not_ready', temporal: true, mongo: false },
    });
  });

  it('answers the admin and read API 503 mongo_unavailable, after the bearer check', async () => {
    const unavailable = { status: 503, body: { error: 'mongo_unavailable', message: expect.any(String) } };
    expect(await admin('GET', '/accounts/acc_1')).toEqual(unavailable);
    expect(await admin('GET', '/accounts/acc_1/events')).toEqual(unavailable);
    expect(
      await admin('POST', '/accounts', { accountId: 'acc_1', accessToken: 'a', refreshToken: 'r' }),
    ).toEqual(unavailable);
    const noToken = await fetch(`${url}/accounts/acc_1`);
    expect(noToken.status).toBe(401);
  });

  it('answers a push 503 when Temporal is down too, and 202 again once it is back', async () => {
    await temporal.stop();
    try {
      const res = await push(uniqueName('acc_both_down'));
      expect(res).toEqual({
        status: 503,
        body: { error: 'temporal_unavailable', message: expect.stringMatching(/retry/) },
      });
      expect((await probe('/readyz/receiver')).status).toBe(503);
    } finally {
      await temporal.start();
    }
    await eventually(async () => (await push(uniqueName('acc_back'))).status === 202, 20_000, '202');
  });

  it('serves /metrics and /docs on the internal listener only', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${url}/docs/json`)).status).toBe(404);
    const metrics = await fetch(`${internalUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('cronofy_notifications_total');
    const doc = (await (await fetch(`${internalUrl}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/cronofy/notifications/{accountId}',
        '/accounts/{accountId}',
        '/readyz/receiver',
      ]),
    );
    expect((await fetch(`${internalUrl}/cronofy/notifications/x`, { method: 'POST' })).status).toBe(404);
  });

  it('recovers the admin API by itself once MongoDB answers, without a restart', async () => {
    await mongo.start();
    await api.mongoReady;
    const accountId = uniqueName('acc_after');
    expect(await admin('GET', `/accounts/${accountId}`)).toMatchObject({
      status: 404,
      body: { error: 'account_not_found' },
    });
    const registered = await admin('POST', '/accounts', { accountId, accessToken: 'a', refreshToken: 'r' });
    expect(registered).toEqual({ status: 201, body: { accountId, created: true } });
    expect(await probe('/readyz')).toEqual({
      status: 200,
      body: { status: 'ready', temporal: true, mongo: true },
    });
  });
});
