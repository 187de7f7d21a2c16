/**
 * Worker leases on the real MongoDB-protocol server: the live workers of a task queue, counted for
 * splitting the Cronofy budget; released on stop, expired when a worker dies.
 */
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerLeaseDoc, WorkerLeases } from '../../src/budget/leases.js';
import type { Metrics } from '../../src/metrics.js';
import { startWorker } from '../../src/runtime.js';
import { metricValue } from '../receiver/support.js';
import { testMongoUri, uniqueName } from '../support/env.js';
import { startStack, workflowBundle } from '../support/stack.js';

let client: MongoClient;
let db: Db;

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(uniqueName('db'));
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

describe('WorkerLeases', () => {
  it('counts the live leases of its task queue: joins, other queues, release, expiry', async () => {
    const t0 = new Date('2026-11-23T12:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const a = WorkerLeases.forDb(db, 'tq-1', 30_000);
    const b = WorkerLeases.forDb(db, 'tq-1', 30_000);
    const other = WorkerLeases.forDb(db, 'tq-2', 30_000);
    expect(a.workerId).not.toBe(b.workerId);

    expect(await a.renew(at(0))).toBe(1);
    expect(await other.renew(at(1))).toBe(1); // another task queue: another budget
    expect(await b.renew(at(2))).toBe(2);
    expect(await a.renew(at(10))).toBe(2);

    // b stops cleanly: gone at once.
    await b.release();
    expect(await a.renew(at(11))).toBe(1);

    // b comes back, then dies: its lease counts until it expires (30 s after its last renewal).
    expect(await b.renew(at(12))).toBe(2);
    expect(await a.renew(at(41))).toBe(2);
    expect(await a.renew(at(43))).toBe(1);

    const docs = await db.collection<WorkerLeaseDoc>('workers').find({ taskQueue: 'tq-1' }).toArray();
    expect(docs.find((d) => d._id === a.workerId)).toMatchObject({
      pid: process.pid,
      expiresAt: at(73),
      startedAt: expect.any(Date),
    });
  });

  it('forgets leases that expired more than a day ago', async () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const dead = WorkerLeases.forDb(db, 'tq-3', 30_000);
    await dead.renew(new Date(now.getTime() - 2 * 86_400_000));
    const live = WorkerLeases.forDb(db, 'tq-3', 30_000);
    expect(await live.renew(now)).toBe(1);
    expect(await db.collection('workers').countDocuments({ _id: dead.workerId as never })).toBe(0);
  });
});

describe('workers of one task queue share the budget', () => {
  it('a second worker runs on half the budget and gives its lease back when it stops', async () => {
    const stack = await startStack();
    const workersGauge = (m: Metrics) => metricValue(m, 'cronofy_rate_limit_workers', {});
    try {
      const second = await startWorker(stack.config, { workflowBundle: await workflowBundle() });
      expect(await workersGauge(second.metrics)).toBe(2);
      await second.close();
      const leases = await stack.db
        .collection('workers')
        .countDocuments({ taskQueue: stack.config.temporal.taskQueue });
      expect(leases).toBe(1); // the stack's own worker
      const third = await startWorker(stack.config, { workflowBundle: await workflowBundle() });
      expect(await workersGauge(third.metrics)).toBe(2);
      await third.close();
      expect(await stack.db.collection('workers').countDocuments({})).toBe(1);
    } finally {
      await stack.close();
    }
  });
});
