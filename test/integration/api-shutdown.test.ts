/**
 * Graceful shutdown of the API (what SIGTERM does through `close()`): a request already in flight
 * is answered in full, and the port stops accepting new connections.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, startStack } from '../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  // The API is closed by the test itself; the rest of the stack is closed here.
  await stack?.worker.close();
  await stack?.sim.stop();
  await stack?.db.dropDatabase().catch(() => undefined);
  await stack?.mongo.close();
});

describe('API shutdown', () => {
  it('finishes the request in flight (a waited sync), then refuses new connections', async () => {
    const { sim, db } = stack;
    const acc = sim.createAccount({ calendarIds: ['cal_1'] });
    const id = acc.accountId;
    const reg = { accountId: id, accessToken: acc.accessToken, refreshToken: acc.refreshToken };
    expect((await stack.admin('POST', '/accounts', reg)).status).toBe(201);
    await eventually(
      () => db.collection('sync_runs').findOne({ accountId: id, kind: 'full', outcome: 'succeeded' }),
      30_000,
      'initial full sync',
    );

    // The next Read Events takes 3 s, so `?wait=true` is still waiting when close() begins.
    sim.injectFault({ method: 'GET', path: '/v1/events', delayMs: 3_000, times: 1 });
    const inFlight = stack.admin('POST', `/accounts/${id}/sync?wait=true`, { mode: 'incremental' });
    await eventually(
      () => db.collection('sync_runs').findOne({ accountId: id, kind: 'incremental', outcome: 'running' }),
      20_000,
      'sync running',
    );
    const closing = stack.api.close();
    const res = await inFlight;
    expect(res).toMatchObject({ status: 200, body: { kind: 'incremental' } });
    // Nothing keeps close() waiting once the answer is out: not the keep-alive connection it went
    // out on (without `Connection: close` while closing, that waited for the 72 s keep-alive timeout).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closing,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('close() still waiting 10 s after the last answer')),
          10_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    await expect(fetch(`${stack.apiUrl}/healthz`)).rejects.toThrow();
  });
});
