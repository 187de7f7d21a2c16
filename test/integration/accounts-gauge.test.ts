/**
 * `cronofy_accounts{state}` against the real MongoDB-protocol server: the gauge is counted from
 * `accounts` at scrape time, so it follows state changes (the workflow mirrors its state there
 * through recordAccountState → AccountsRepo.setState) without any timer, shows every state, and a
 * MongoDB outage costs the figure but not the scrape.
 */
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEncryptionKeys } from '../../src/config.js';
import { SYNC_STATES } from '../../src/domain.js';
import { createMetrics } from '../../src/metrics.js';
import { AccountsRepo } from '../../src/store/accounts-repo.js';
import { collections, ensureIndexes } from '../../src/store/db.js';
import { TokenCrypto } from '../../src/store/token-crypto.js';
import { testMongoUri, uniqueName } from '../support/env.js';

const KEY = parseEncryptionKeys(Buffer.alloc(32, 7).toString('base64'));

let client: MongoClient;
let db: Db;
let repo: AccountsRepo;

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(uniqueName('db-gauge'));
  await ensureIndexes(db);
  repo = new AccountsRepo(collections(db).accounts, new TokenCrypto(KEY));
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

const register = (accountId: string) =>
  repo.register({
    accountId,
    accessToken: `AT_${accountId}`,
    refreshToken: `RT_${accountId}`,
    dataCenter: 'us',
    calendarIds: null,
  });

/** The gauge as Prometheus would scrape it: state → value. */
async function scrape(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const text = await metrics.registry.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^cronofy_accounts\{state="([a-z]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('cronofy_accounts', () => {
  it('counts accounts by state at each scrape, every state present', async () => {
    const metrics = createMetrics();
    metrics.setAccountCounts(() => repo.countByState());
    expect(await scrape(metrics)).toEqual({ active: 0, degraded: 0, disconnected: 0, closed: 0 });

    for (const id of ['a1', 'a2', 'a3', 'a4']) await register(id);
    await repo.setState('a2', 'degraded');
    await repo.setState('a3', 'disconnected');
    await repo.markDeregistered('a4');
    expect(await scrape(metrics)).toEqual({ active: 1, degraded: 1, disconnected: 1, closed: 1 });

    // A recovered account moves back at the next scrape: the figure is read, never accumulated.
    await repo.setState('a3', 'active');
    await repo.setState('a2', 'active');
    expect(await scrape(metrics)).toEqual({ active: 3, degraded: 0, disconnected: 0, closed: 1 });
    expect(Object.keys(await repo.countByState()).sort()).toEqual([...SYNC_STATES].sort());
  });

  it('a process without MongoDB (the api role) exposes no samples', async () => {
    const metrics = createMetrics();
    expect(await scrape(metrics)).toEqual({});
    expect(await metrics.registry.metrics()).toContain('# TYPE cronofy_accounts gauge');
  });

  it('drops the figure, not the scrape, when MongoDB fails', async () => {
    const metrics = createMetrics();
    metrics.setAccountCounts(() => repo.countByState());
    expect((await scrape(metrics)).active).toBeGreaterThanOrEqual(1);
    metrics.setAccountCounts(() => Promise.reject(new Error('MongoDB unreachable')));
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE cronofy_notifications_total counter');
    expect(await scrape(metrics)).toEqual({});
  });
});
