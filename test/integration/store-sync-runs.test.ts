/**
 * `sync_runs` retention on the real MongoDB-protocol server: a TTL index where the server has TTL
 * (mongod), otherwise a plain `startedAt` index and the worker's own pruning (FerretDB v1).
 */
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collections,
  ensureIndexes,
  pruneSyncRuns,
  SYNC_RUN_TTL_SECONDS,
  type SyncRunDoc,
} from '../../src/store/db.js';
import { testMongoKind, testMongoUri, uniqueName } from '../support/env.js';

let client: MongoClient;
let db: Db;
let ttl: boolean;

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(uniqueName('db'));
  ({ ttl } = await ensureIndexes(db));
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

const run = (accountId: string, startedAt: Date): SyncRunDoc => ({
  accountId,
  kind: 'incremental',
  workflowRunId: 'run-1',
  params: {},
  startedAt,
  finishedAt: startedAt,
  durationMs: 0,
  pages: 1,
  upserted: 0,
  deleted: 0,
  outcome: 'succeeded',
  error: null,
  attempts: 1,
});

describe('sync_runs retention', () => {
  it('has a TTL index of 30 days where the server supports it, else a startedAt index for pruning', async () => {
    const indexes = await collections(db).syncRuns.listIndexes().toArray();
    const byName = new Map(indexes.map((i) => [i.name as string, i]));
    if (ttl) {
      expect(byName.get('ttl_started')).toMatchObject({
        key: { startedAt: 1 },
        expireAfterSeconds: SYNC_RUN_TTL_SECONDS,
      });
    } else {
      expect(byName.get('started')).toMatchObject({ key: { startedAt: 1 } });
      expect(byName.has('ttl_started')).toBe(false);
    }
    // FerretDB v1 has no TTL; a mongod does (a MONGODB_URI server may be either).
    if (testMongoKind() === 'ferretdb') expect(ttl).toBe(false);
    if (testMongoKind() === 'mongod') expect(ttl).toBe(true);
    // Run again (API and worker both call it at start): nothing changes, nothing throws.
    expect(await ensureIndexes(db)).toEqual({ ttl });
  });

  it('pruneSyncRuns deletes the runs older than the retention and keeps the rest', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const ago = (s: number) => new Date(now.getTime() - s * 1000);
    const runs = collections(db).syncRuns;
    await runs.insertMany([
      run('old-1', ago(SYNC_RUN_TTL_SECONDS + 3_600)),
      run('old-2', ago(SYNC_RUN_TTL_SECONDS + 1)),
      run('edge', ago(SYNC_RUN_TTL_SECONDS - 1)),
      run('new', ago(60)),
    ]);
    expect(await pruneSyncRuns(db, now)).toBe(2);
    const left = (await runs.find({}, { projection: { _id: 0, accountId: 1 } }).toArray()).map(
      (r) => r.accountId,
    );
    expect(left.sort()).toEqual(['edge', 'new']);
    expect(await pruneSyncRuns(db, now)).toBe(0);
  });
});
