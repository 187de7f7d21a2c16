/**
 * The bad-input matrix over real HTTP against a receiver wired to the run's real Temporal dev
 * server: after each refused request no workflow exists for that account id (and one does after
 * each accepted one, so the check can fail), and the receiver keeps serving.
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { AccountWorkflows } from '../../src/temporal/account-workflows.js';
import { workflowIdFor } from '../../src/workflows/messages.js';
import { testTemporalAddress, testTemporalNamespace, uniqueName } from '../support/env.js';
import { JSON_CT, type MatrixCase, matrix } from './cases.js';
import { changeBody, rawRequest, receiverConfig, sign } from './support.js';

describe('receiver bad-input matrix against a real Temporal server', () => {
  let connection: Connection;
  let client: Client;
  let workflows: AccountWorkflows;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let baseUrl: string;
  const run = uniqueName('rt').replace(/-/g, '_');

  beforeAll(async () => {
    const config = receiverConfig({
      TEMPORAL_ADDRESS: testTemporalAddress(),
      TEMPORAL_TASK_QUEUE: uniqueName('rt'),
    });
    connection = await Connection.connect({ address: config.temporal.address });
    client = new Client({ connection, namespace: testTemporalNamespace() });
    workflows = new AccountWorkflows({
      client,
      taskQueue: config.temporal.taskQueue,
      timings: config.timings,
      publicUrl: config.http.publicUrl,
    });
    app = await buildServer({
      config,
      metrics: createMetrics(),
      workflows,
      readiness: { temporal: async () => true, mongo: async () => true },
      logger: createLogger('silent'),
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await connection?.close();
  });

  // Each case on an account of its own (a signed body names its account), so that "no workflow"
  // is checked per case.
  const names = matrix('x').map((c, i) => [c.name, i] as const);

  it.each(names.filter(([, i]) => !matrix('x')[i]?.injectOnly))('%s', async (_name, i) => {
    const c = matrix(`${run}_${i}`)[i] as MatrixCase;
    const accountId = c.decodedAccountId ?? c.segment ?? `${run}_${i}`;
    const res = await rawRequest(baseUrl, {
      method: c.method ?? 'POST',
      path: `/cronofy/notifications/${c.segment ?? accountId}`,
      headers: c.headers,
      body: c.body,
    });
    expect(res.status, res.body).toBe(c.status);
    if (c.status >= 400)
      expect(JSON.parse(res.body)).toEqual({
        error: c.error,
        message: expect.stringMatching(c.message ?? /./),
      });
    expect(await workflows.exists(accountId)).toBe(c.signalled === true);
  });

  it('a replayed request is accepted again and lands on the same workflow (which coalesces it)', async () => {
    const accountId = `${run}_replay`;
    const body = changeBody({ channelId: 'chn_replay', accountId });
    const request = {
      path: `/cronofy/notifications/${accountId}`,
      headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
      body,
    };
    expect((await rawRequest(baseUrl, request)).status).toBe(202);
    expect((await rawRequest(baseUrl, request)).status).toBe(202);
    const handle = client.workflow.getHandle(workflowIdFor(accountId));
    const { events } = await handle.fetchHistory();
    const started = events?.filter((e) => e.workflowExecutionStartedEventAttributes) ?? [];
    const signals =
      events?.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'notification') ?? [];
    expect([started.length, signals.length]).toEqual([1, 2]);
  });

  it('still serves afterwards', async () => {
    const accountId = `${run}_after`;
    const body = changeBody({ accountId });
    const res = await rawRequest(baseUrl, {
      path: `/cronofy/notifications/${accountId}`,
      headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
      body,
    });
    expect(res.status).toBe(202);
    expect(await workflows.exists(accountId)).toBe(true);
  });
});
