/**
 * A sync attempt whose workflow is terminated stops writing (issue 13 item 4), on the real Temporal
 * dev server and MongoDB-protocol server, with the real activity, client and rate limiter. Cronofy
 * is a local server that answers page 1 and holds page 2 until the test releases it: the attempt
 * is caught mid-sync, the workflow is terminated, and only once Temporal has told the attempt
 * (its cancellation signal aborted, on a heartbeat's answer) is page 2 released. An attempt that
 * ignored its cancellation would now write page 2 next to whatever runs after it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../scripts/lib/wait.js';
import { createActivities } from '../../src/activities/index.js';
import { RateLimiter } from '../../src/budget/rate-limiter.js';
import { DEFAULT_TIMINGS, parseEncryptionKeys } from '../../src/config.js';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import { AccountsRepo } from '../../src/store/accounts-repo.js';
import { CalendarsRepo } from '../../src/store/calendars-repo.js';
import { type Collections, collections, ensureIndexes } from '../../src/store/db.js';
import { EventsRepo } from '../../src/store/events-repo.js';
import { SyncRunsRepo } from '../../src/store/sync-runs-repo.js';
import { TokenCrypto } from '../../src/store/token-crypto.js';
import { webpackConfigHook } from '../../src/worker.js';
import type { SyncInput } from '../../src/workflows/messages.js';
import { testMongoUri, testTemporalAddress, testTemporalNamespace, uniqueName } from '../support/env.js';

function event(uid: string): CronofyEvent {
  const start = new Date(Date.now() + 86_400_000);
  return {
    calendar_id: 'cal_1',
    event_uid: uid,
    summary: uid,
    start: start.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    end: new Date(start.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    deleted: false,
    created: '2026-01-01T00:00:00Z',
    updated: '2026-01-02T00:00:00Z',
  };
}

/** Read Events in two pages: page 1 at once, page 2 held until `release()`. */
async function stallingCronofy() {
  let page2: http.ServerResponse | undefined;
  let page2Arrived: () => void = () => undefined;
  const page2Requested = new Promise<void>((resolve) => (page2Arrived = resolve));
  let base = '';
  const server = http.createServer((req, res) => {
    req.resume();
    const url = new URL(req.url ?? '/', base);
    if (req.method !== 'GET' || url.pathname !== '/v1/events') {
      res.writeHead(404).end();
    } else if (url.searchParams.get('page') === '2') {
      page2 = res;
      page2Arrived();
    } else {
      const body = {
        pages: { current: 1, total: 2, next_page: `${base}/v1/events?page=2` },
        events: [event('evt_page1')],
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    page2Requested,
    /** Answers page 2 (the last page) if the client is still there to read it. */
    release(): void {
      const res = page2;
      if (res && !res.destroyed) {
        const body = { pages: { current: 2, total: 2 }, events: [event('evt_page2')] };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function deferred<T>() {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let mongo: MongoClient;
let db: Db;
let c: Collections;

beforeAll(async () => {
  mongo = await MongoClient.connect(testMongoUri());
  db = mongo.db(uniqueName('db'));
  await ensureIndexes(db);
  c = collections(db);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await mongo?.close();
});

describe('a sync attempt whose workflow is terminated (real Temporal, real activity)', () => {
  it('stops: it ends as cancelled and writes no further page', async () => {
    const cronofy = await stallingCronofy();
    const accounts = new AccountsRepo(
      c.accounts,
      new TokenCrypto(parseEncryptionKeys(Buffer.alloc(32, 7).toString('base64'))),
    );
    const accountId = uniqueName('acc');
    await accounts.register({
      accountId,
      accessToken: 'AT_test',
      refreshToken: 'RT_test',
      dataCenter: 'us',
      calendarIds: ['cal_1'],
    });
    const real = createActivities({
      accounts,
      events: new EventsRepo(c.events),
      calendars: new CalendarsRepo(c.calendars),
      syncRuns: new SyncRunsRepo(c.syncRuns),
      settings: { timings: DEFAULT_TIMINGS, publicUrl: undefined },
      cronofy: {
        clientId: 'test',
        clientSecret: 'secret',
        apiUrlOverride: cronofy.url,
        requestTimeoutMs: 600_000,
      },
      limiter: new RateLimiter({ perSecond: 50, perMinute: 500 }),
      // Heartbeat often, so the cancellation arrives within the test's patience.
      syncKeepAliveMs: 100,
    });
    // Observes the attempt from outside: when Temporal cancelled it, and how it ended.
    const cancelled = deferred<string>();
    const ended = deferred<{ ok: boolean; error?: unknown }>();
    const activities = {
      ...real,
      async syncEvents(input: SyncInput) {
        const signal = Context.current().cancellationSignal;
        signal.addEventListener('abort', () => cancelled.resolve(String(signal.reason)), { once: true });
        try {
          const result = await real.syncEvents(input);
          ended.resolve({ ok: true });
          return result;
        } catch (error) {
          ended.resolve({ ok: false, error });
          throw error;
        }
      },
    };

    const taskQueue = uniqueName('tq');
    const nativeConnection = await NativeConnection.connect({ address: testTemporalAddress() });
    const connection = await Connection.connect({ address: testTemporalAddress() });
    const client = new Client({ connection, namespace: testTemporalNamespace() });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: testTemporalNamespace(),
      taskQueue,
      activities,
      workflowsPath: fileURLToPath(new URL('./support/sync-once-workflow.ts', import.meta.url)),
      bundlerOptions: { webpackConfigHook },
      // Heartbeats reach the server (and bring back the cancellation) at most this late.
      maxHeartbeatThrottleInterval: '200ms',
    });
    try {
      await worker.runUntil(async () => {
        const handle = await client.workflow.start('syncOnce', {
          taskQueue,
          workflowId: uniqueName('sync-once'),
          args: [{ accountId, kind: 'incremental', trigger: 'notification' } satisfies SyncInput],
        });
        // Mid-sync: page 1 is in MongoDB and the attempt waits for page 2.
        await cronofy.page2Requested;
        await eventually(
          () => c.events.findOne({ accountId, eventUid: 'evt_page1' }),
          20_000,
          'page 1 written',
        );

        await handle.terminate('test: the attempt must stop');
        // Temporal tells the attempt on its next heartbeat (NOT_FOUND: the activity is gone).
        expect(await cancelled.promise).toMatch(/NOT_FOUND|CANCELLED/);
        // Only now does "Cronofy" answer page 2: a zombie attempt would write it.
        cronofy.release();
        const outcome = await ended.promise;

        expect(outcome.ok).toBe(false);
        expect(outcome.error).toMatchObject({ name: 'CancelledFailure' });
        // Nothing of page 2 reached MongoDB (whether the answer still reached the abandoned
        // socket is a race we do not judge here: test/cronofy/client.test.ts covers the request).
        expect(await c.events.countDocuments({ accountId, eventUid: 'evt_page2' })).toBe(0);
        expect(await c.events.countDocuments({ accountId })).toBe(1);
        const run = await c.syncRuns.findOne({ accountId });
        expect(run?.outcome).not.toBe('succeeded');
      });
    } finally {
      await connection.close();
      await nativeConnection.close();
      await cronofy.close();
    }
  });
});
