/**
 * `sync_runs` on the real MongoDB-protocol server: retention (a TTL index where the server has TTL
 * (mongod), otherwise a plain `startedAt` index and the worker's own pruning (FerretDB v1)), and
 * `SyncRunsRepo`, which writes each run and summarises an account's latest ones.
 */
import { type Db, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collections,
  ensureIndexes,
  pruneSyncRuns,
  SYNC_RUN_TTL_SECONDS,
  type SyncRunDoc,
} from '../../src/store/db.js';
import { SyncRunsRepo } from '../../src/store/sync-runs-repo.js';
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

describe('SyncRunsRepo', () => {
  const base = {
    kind: 'full' as const,
    workflowRunId: 'run-7',
    params: { from: '2026-04-01', to: '2026-11-01' },
    attempts: 1,
  };

  it('records a run from start to success, and a resumed one to failure', async () => {
    const repo = new SyncRunsRepo(collections(db).syncRuns);
    const startedAt = new Date('2026-06-01T10:00:00Z');
    const id = await repo.start({ ...base, accountId: 'repo-1', startedAt });
    const docOf = (hex: string) => collections(db).syncRuns.findOne({ _id: new ObjectId(hex) });
    expect(await docOf(id)).toMatchObject({
      accountId: 'repo-1',
      kind: 'full',
      params: base.params,
      startedAt,
      finishedAt: null,
      durationMs: null,
      pages: 0,
      outcome: 'running',
      error: null,
      attempts: 1,
    });
    const finishedAt = new Date('2026-06-01T10:00:03Z');
    await repo.succeeded(id, { finishedAt, durationMs: 3000, pages: 2, upserted: 5, deleted: 1 });
    expect(await docOf(id)).toMatchObject({
      finishedAt,
      durationMs: 3000,
      pages: 2,
      upserted: 5,
      deleted: 1,
      outcome: 'succeeded',
      error: null,
    });

    const failing = await repo.start({
      ...base,
      kind: 'incremental',
      accountId: 'repo-1',
      startedAt: new Date('2026-06-01T11:00:00Z'),
    });
    await repo.resumed(failing, 3);
    const failedAt = new Date('2026-06-01T11:00:09Z');
    await repo.failed(failing, {
      error: 'Cronofy answered 500',
      finishedAt: failedAt,
      pages: 1,
      upserted: 2,
      deleted: 0,
    });
    expect(await docOf(failing)).toMatchObject({
      attempts: 3,
      outcome: 'failed',
      error: 'Cronofy answered 500',
      finishedAt: failedAt,
      pages: 1,
      upserted: 2,
    });

    // Another account's runs, and a run still going, are not part of the summary.
    await repo.start({ ...base, accountId: 'repo-2', startedAt: new Date('2026-06-01T12:00:00Z') });
    await repo.start({ ...base, accountId: 'repo-1', startedAt: new Date('2026-06-01T12:00:00Z') });
    expect(await repo.summary('repo-1')).toEqual({
      lastSyncs: {
        full: { kind: 'full', at: finishedAt.toISOString(), upserted: 5, deleted: 1, pages: 2 },
      },
      lastSuccessAt: finishedAt,
      lastFailure: { message: 'Cronofy answered 500', at: failedAt },
    });
    expect(await repo.summary('nobody')).toEqual({ lastSyncs: {}, lastSuccessAt: null, lastFailure: null });
  });
});

describe('a running sync', () => {
  it('records its progress per page while the attempt owns the run, and is the account’s running run until it ends', async () => {
    const repo = new SyncRunsRepo(collections(db).syncRuns);
    const accountId = uniqueName('acc');
    const startedAt = new Date('2026-05-01T10:00:00Z');
    const id = await repo.start({
      accountId,
      kind: 'full',
      workflowRunId: 'run-1',
      params: {},
      startedAt,
      attempts: 1,
    });
    expect(await repo.running(accountId)).toMatchObject({ kind: 'full', pages: 0, outcome: 'running' });

    await repo.progress(id, 1, { pages: 1, pagesTotal: 3, upserted: 2, deleted: 0 });
    expect(await repo.running(accountId)).toMatchObject({ pages: 1, pagesTotal: 3, upserted: 2 });
    // A retry took the run over: the replaced attempt's late update changes nothing.
    await repo.resumed(id, 2);
    await repo.progress(id, 1, { pages: 0, pagesTotal: 3, upserted: 0, deleted: 0 });
    await repo.progress(id, 2, { pages: 2, pagesTotal: 3, upserted: 4, deleted: 1 });
    expect(await repo.running(accountId)).toMatchObject({ pages: 2, upserted: 4, deleted: 1 });

    await repo.succeeded(id, { pages: 3, upserted: 5, deleted: 1, finishedAt: startedAt, durationMs: 1 });
    // Finished: no longer running, and a late progress update does not touch the result.
    await repo.progress(id, 2, { pages: 1, pagesTotal: 3, upserted: 0, deleted: 0 });
    expect(await repo.running(accountId)).toBeNull();
    expect(await collections(db).syncRuns.findOne({ _id: new ObjectId(id) })).toMatchObject({
      outcome: 'succeeded',
      pages: 3,
      upserted: 5,
    });
  });
});
