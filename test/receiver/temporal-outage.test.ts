/**
 * Temporal unreachable → 503 within 1 s, measured as wall time over real HTTP, through the real
 * runtime wiring (`startApi`: lazy connection, signal deadline), on a Temporal dev server only this
 * file uses. Covers the first connect attempt of the lazy connection, an outage after it was
 * connected, and a server that accepts TCP but never answers; then recovery without restarting
 * the receiver.
 */
import net from 'node:net';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/servers.js';
import { buildServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { type ApiRuntime, startApi } from '../../src/runtime.js';
import { AccountWorkflows } from '../../src/temporal/account-workflows.js';
import { type ClosableConnection, lazyClosableConnection } from '../../src/temporal/connection.js';
import {
  type IsolatedServer,
  isolatedTemporal,
  type TemporalInfo,
  testMongoUri,
  uniqueName,
} from '../support/env.js';
import { eventually } from '../support/stack.js';
import { JSON_CT } from './cases.js';
import { changeBody, NEW_SECRET, receiverConfig, sign } from './support.js';

/** A push signed for `accountId`: the receiver refuses a body that names another account. */
const pushFor = (accountId: string) => {
  const body = changeBody({ accountId });
  return { body, headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) } };
};

async function timedPost(
  url: string,
  accountId: string,
): Promise<{ status: number; ms: number; body: unknown }> {
  const { body: payload, headers } = pushFor(accountId);
  const started = performance.now();
  const res = await fetch(`${url}/cronofy/notifications/${accountId}`, {
    method: 'POST',
    headers,
    body: payload,
  });
  const body = await res.json();
  return { status: res.status, ms: performance.now() - started, body };
}

describe('Temporal outage and recovery (isolated dev server, real runtime)', () => {
  let temporal: IsolatedServer<TemporalInfo>;
  let api: ApiRuntime;
  let url: string;

  beforeAll(async () => {
    temporal = await isolatedTemporal();
    const port = await freePort();
    const config = loadConfig({
      CRONOFY_CLIENT_ID: 'outage-test',
      CRONOFY_CLIENT_SECRET: NEW_SECRET,
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: 'https://outage.example.test',
      TEMPORAL_ADDRESS: temporal.info.address,
      TEMPORAL_TASK_QUEUE: uniqueName('outage'),
      MONGODB_URI: testMongoUri(),
      MONGODB_DB: uniqueName('outage'),
      LOG_LEVEL: 'silent',
    });
    // Temporal goes down before the API ever talks to it: the first request is also the lazy
    // connection's first connect attempt.
    await temporal.stop();
    api = await startApi(config, { logger: createLogger('silent') });
    url = api.url.replace('0.0.0.0', '127.0.0.1');
  });
  afterAll(async () => {
    await api?.close();
    await temporal?.close();
  });

  it("answers 503 within 1 s on the lazy connection's first attempt, and /readyz says why", async () => {
    // The test's own HTTP connection is opened first, so the wall time measured below is the
    // receiver's; the notification is still the lazy Temporal connection's first use.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const r = await timedPost(url, 'acc_first_attempt');
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: 'temporal_unavailable', message: expect.any(String) });
    }
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not_ready', temporal: false, mongo: true });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('recovers when Temporal comes back, without restarting the receiver', async () => {
    await temporal.start();
    const started = performance.now();
    await eventually(
      async () => (await timedPost(url, 'acc_recovered')).status === 202,
      20_000,
      '202 after restart',
    );
    const recoveryMs = performance.now() - started;
    console.info(
      `[outage] first recovery: 202 ${Math.round(recoveryMs)} ms after the server was ready again`,
    );
    expect(await api.workflows.exists('acc_recovered')).toBe(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('answers 503 within 1 s when a connected Temporal goes away, then recovers again', async () => {
    expect((await timedPost(url, 'acc_second_outage')).status).toBe(202);
    await temporal.stop();
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await timedPost(url, `acc_during_outage_${i}`);
      expect(r.status).toBe(503);
      timings.push(Math.round(r.ms));
    }
    console.info(`[outage] 503 wall times while down: ${timings.join(', ')} ms`);
    expect(Math.max(...timings)).toBeLessThan(1000);

    await temporal.start();
    const started = performance.now();
    await eventually(
      async () => (await timedPost(url, 'acc_recovered_2')).status === 202,
      20_000,
      '202 after 2nd restart',
    );
    console.info(`[outage] second recovery: ${Math.round(performance.now() - started)} ms`);
    expect(await api.workflows.exists('acc_recovered_2')).toBe(true);
    // Nothing was started for the notifications refused with 503: Cronofy retries them.
    for (let i = 0; i < 5; i++) expect(await api.workflows.exists(`acc_during_outage_${i}`)).toBe(false);
  });
});

describe('Temporal that accepts connections but never answers', () => {
  let blackHole: net.Server;
  const sockets = new Set<net.Socket>();
  let temporalConnection: ClosableConnection | undefined;

  beforeAll(async () => {
    blackHole = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await temporalConnection?.close();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it("answers 503 within 1 s instead of hanging towards Cronofy's 5 s limit", async () => {
    const { port } = blackHole.address() as net.AddressInfo;
    const config = receiverConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    temporalConnection = lazyClosableConnection({ address: config.temporal.address });
    const workflows = new AccountWorkflows({
      client: new Client({ connection: temporalConnection.connection }),
      taskQueue: 'unused',
      timings: config.timings,
      publicUrl: config.http.publicUrl,
    });
    const app = await buildServer({
      config,
      metrics: createMetrics(),
      workflows,
      readiness: { temporal: async () => true, mongo: async () => true },
      logger: createLogger('silent'),
    });
    await app.ready();
    try {
      for (let i = 0; i < 2; i++) {
        const res = await app.inject({
          method: 'POST',
          url: '/cronofy/notifications/acc_hang',
          ...(({ body, headers }) => ({ headers, payload: body }))(pushFor('acc_hang')),
        });
        // A hand-off that never settles can only have been answered by the signal timeout.
        expect(res.statusCode).toBe(503);
      }
    } finally {
      await app.close();
    }
  });
});
