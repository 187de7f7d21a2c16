// Proves the test harness: the run-wide servers answer, the time-skipping server works from the
// cached binary, and servers can be stopped and started through the control channel.
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureIndexes } from '../../src/store/db.js';
import {
  createTimeSkippingEnv,
  isolatedMongo,
  isolatedTemporal,
  testMongoKind,
  testMongoUri,
  testTemporalAddress,
  testTemporalNamespace,
  uniqueName,
} from './env.js';

// temporal.api.enums.v1.IndexedValueType
const KEYWORD = 2;
const DATETIME = 6;

describe('run-wide Temporal dev server', () => {
  it('answers and has the Cronofy search attributes registered', async () => {
    const connection = await Connection.connect({ address: testTemporalAddress() });
    try {
      const namespace = testTemporalNamespace();
      expect(namespace).toBe('default');
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      expect(customAttributes).toMatchObject({
        CronofyAccountId: KEYWORD,
        CronofySyncState: KEYWORD,
        CronofyLastSyncAt: DATETIME,
        CronofyWebhookId: KEYWORD,
        CronofyWebhookState: KEYWORD,
      });
    } finally {
      await connection.close();
    }
  });
});

describe('run-wide MongoDB-protocol server', () => {
  it('pings, inserts and finds in a database of its own', async () => {
    expect(['mongodb-uri', 'mongod', 'ferretdb']).toContain(testMongoKind());
    const client = await MongoClient.connect(testMongoUri());
    const db = client.db(uniqueName('harness'));
    try {
      expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
      const events = db.collection<{ accountId: string; eventUid: string; startAt: Date }>('events');
      const startAt = new Date('2026-01-02T03:04:05.000Z');
      await events.insertOne({ accountId: 'acc_1', eventUid: 'evt_1', startAt });
      const found = await events.findOne({ accountId: 'acc_1' }, { projection: { _id: 0 } });
      expect(found).toEqual({ accountId: 'acc_1', eventUid: 'evt_1', startAt });
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});

describe.runIf(testMongoKind() === 'ferretdb')('FerretDB as built by scripts/install-servers.sh', () => {
  it('finds, updates and deletes one document by _id through the _id index, not a table scan', async () => {
    // Our build patches FerretDB 1.24.2 so that its `_id` filter matches its `_id` index (see
    // patch_ferretdb_id_lookup): without it every lookup by `_id` scanned the collection.
    const client = await MongoClient.connect(testMongoUri());
    const db = client.db(uniqueName('harness'));
    try {
      const accounts = db.collection<{ _id: string; n: number }>('accounts');
      await accounts.insertMany([...Array(50).keys()].map((n) => ({ _id: `acc_${n}`, n })));
      const plan = (explained: unknown) =>
        JSON.stringify((explained as { queryPlanner: unknown }).queryPlanner);
      const find = plan(await accounts.find({ _id: 'acc_7' }).explain());
      expect(find).toMatch(/SEARCH \S+ USING INDEX \S+__id_/);
      expect(find).not.toMatch(/SCAN/);
      // Updates and deletes by `_id` filter on the same column expression (FerretDB's `explain` of
      // an update does not show the statements it runs, so the find plan stands for all three).
      // and the lookups still answer what they should
      await accounts.updateOne({ _id: 'acc_7' }, { $set: { n: 70 } });
      expect(await accounts.findOne({ _id: 'acc_7' })).toEqual({ _id: 'acc_7', n: 70 });
      expect((await accounts.deleteOne({ _id: 'acc_8' })).deletedCount).toBe(1);
      expect(await accounts.countDocuments()).toBe(49);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});

describe.runIf(testMongoKind() === 'ferretdb')('FerretDB filter pushdown (patch_ferretdb_pushdown)', () => {
  it('serves the events hot queries from the account_event_uid index, with exact results', async () => {
    const client = await MongoClient.connect(testMongoUri());
    const db = client.db(uniqueName('harness'));
    try {
      await ensureIndexes(db);
      const events = db.collection<{ accountId: string; eventUid: string; contentHash: string; n: number }>(
        'events',
      );
      const uids = ['e1', 'e2', 'e<3>', 'é4', 'e"5'];
      await events.insertMany(
        ['a1', 'a2', 'a:3'].flatMap((accountId) =>
          uids.map((eventUid, n) => ({ accountId, eventUid, contentHash: `h${n}`, n })),
        ),
      );
      const plan = async (filter: object) => {
        const e = (await events.find(filter).explain()) as {
          queryPlanner: unknown;
          filterPushdown?: boolean;
        };
        return { text: JSON.stringify(e.queryPlanner), pushdown: e.filterPushdown };
      };
      const hot = await plan({ accountId: 'a1', eventUid: { $in: ['e1', 'e2'] } });
      expect(hot.text).toMatch(/SEARCH \S+ USING INDEX \S+_account_event_uid/);
      expect(hot.pushdown).toBe(true);
      const cond = await plan({ accountId: 'a1', eventUid: 'e2', contentHash: 'h1' });
      expect(cond.text).toMatch(/USING INDEX \S+_account_event_uid/);

      // Exact results whatever was pushed down: values with characters the patch does not push
      // (left to FerretDB's own filter), mixed $in lists, conditions the index does not cover.
      const uidsOf = async (filter: object) =>
        (await events.find(filter).toArray()).map((d) => `${d.accountId}/${d.eventUid}`).sort();
      expect(await uidsOf({ accountId: 'a1', eventUid: { $in: ['e1', 'e2'] } })).toEqual(['a1/e1', 'a1/e2']);
      expect(await uidsOf({ accountId: 'a:3', eventUid: { $in: ['e<3>', 'é4', 'e1'] } })).toEqual([
        'a:3/e1',
        'a:3/e<3>',
        'a:3/é4',
      ]);
      expect(await uidsOf({ accountId: 'a2', eventUid: 'e"5' })).toEqual(['a2/e"5']);
      expect(await uidsOf({ accountId: 'a1', eventUid: 'e2', contentHash: 'h0' })).toEqual([]);
      expect(await uidsOf({ accountId: 'a1', n: { $gte: 3 } })).toEqual(['a1/e"5', 'a1/é4']);
      expect(await uidsOf({ eventUid: 'e1' })).toEqual(['a1/e1', 'a2/e1', 'a:3/e1']);
      // Writes go through the same pushdown: a conditional update matches only its version.
      expect(
        (
          await events.updateOne(
            { accountId: 'a2', eventUid: 'e1', contentHash: 'stale' },
            { $set: { n: 9 } },
          )
        ).matchedCount,
      ).toBe(0);
      expect(
        (await events.updateOne({ accountId: 'a2', eventUid: 'e1', contentHash: 'h0' }, { $set: { n: 9 } }))
          .modifiedCount,
      ).toBe(1);
      expect(await events.countDocuments({ accountId: 'a2', n: 9 })).toBe(1);
      expect(
        (await events.deleteMany({ accountId: 'a1', eventUid: { $in: ['e1', 'é4'] } })).deletedCount,
      ).toBe(2);
      expect(await events.countDocuments({ accountId: 'a1' })).toBe(3);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });

  it('completes an update command of 250 single-document statements (unpatched, statement 100 waits forever for a SQLite connection)', async () => {
    const client = await MongoClient.connect(testMongoUri());
    const db = client.db(uniqueName('harness'));
    try {
      const events = db.collection<{ accountId: string; eventUid: string; n: number }>('events');
      await events.createIndex({ accountId: 1, eventUid: 1 }, { unique: true, name: 'account_event_uid' });
      const uids = Array.from({ length: 250 }, (_, i) => `e${i}`);
      await events.insertMany(uids.map((eventUid) => ({ accountId: 'a1', eventUid, n: 0 })));
      const res = await events.bulkWrite(
        uids.map((eventUid) => ({
          updateOne: { filter: { accountId: 'a1', eventUid }, update: { $set: { n: 1 } } },
        })),
        { ordered: false },
      );
      expect(res.modifiedCount).toBe(250);
      expect(await events.countDocuments({ accountId: 'a1', n: 1 })).toBe(250);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});

describe('time-skipping test server from the cache', () => {
  it('skips 7 days in well under a few seconds', async () => {
    const env = await createTimeSkippingEnv();
    try {
      const before = await env.currentTimeMs();
      // Skipped, not slept: a real 7-day sleep would never return within the test's timeout.
      await env.sleep('7 days');
      expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(7 * 24 * 3600 * 1000);
    } finally {
      await env.teardown();
    }
  });
});

describe('server control channel', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await Promise.all(cleanup.map((fn) => fn()));
  });

  it('stops and starts an isolated Temporal dev server, keeping its state', async () => {
    const temporal = await isolatedTemporal();
    cleanup.push(temporal.close);
    const { address, namespace } = temporal.info;
    expect(address).not.toBe(testTemporalAddress());

    const workflowId = uniqueName('harness-wf');
    {
      const connection = await Connection.connect({ address });
      const client = new Client({ connection, namespace });
      // No worker: the workflow simply stays open, which is all this needs.
      await client.workflow.start('nothingRunsThis', { taskQueue: uniqueName('harness-tq'), workflowId });
      await connection.close();
    }

    expect(await temporal.stop()).toMatchObject({ running: false });
    await expect(Connection.connect({ address, connectTimeout: 1_000 })).rejects.toThrow();

    expect(await temporal.start()).toMatchObject({ running: true, address });
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection, namespace });
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
    } finally {
      await connection.close();
    }
  });

  it('restarts an isolated MongoDB-protocol server, keeping its data', async () => {
    const mongo = await isolatedMongo();
    cleanup.push(mongo.close);
    const { uri } = mongo.info;
    const dbName = uniqueName('harness');
    let client = await MongoClient.connect(uri);
    await client.db(dbName).collection('kept').insertOne({ n: 1 });
    await client.close();

    expect(await mongo.restart()).toMatchObject({ running: true, uri });
    client = await MongoClient.connect(uri);
    try {
      expect(await client.db(dbName).collection('kept').countDocuments()).toBe(1);
    } finally {
      await client.close();
    }
  });
});
