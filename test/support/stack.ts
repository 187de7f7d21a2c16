/**
 * The whole service on real servers for integration and end-to-end tests: the Cronofy simulator,
 * the API on a real port, and a worker, against the run-wide Temporal dev server and
 * MongoDB-protocol server. Each stack gets its own database and task queue.
 */
import { type Db, MongoClient } from 'mongodb';
import { freePort } from '../../scripts/lib/servers.js';
import { type Config, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { type ApiRuntime, startApi, startWorker, type WorkerRuntime } from '../../src/runtime.js';
import { CronofySimulator, type CronofySimulatorOptions } from '../../src/simulator/index.js';
import { bundleWorkflows } from '../../src/worker.js';
import { testMongoUri, testTemporalAddress, uniqueName } from './env.js';

export const TEST_CLIENT_ID = 'test-client';
export const TEST_SECRET = 'CRN_test_secret_0123456789';
export const ADMIN_TOKEN = 'test-admin-token';

let bundle: Promise<{ code: string }> | undefined;
/** One workflow bundle per test file (bundling takes seconds). */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflows();
  return bundle;
}

export interface Stack {
  sim: CronofySimulator;
  api: ApiRuntime;
  worker: WorkerRuntime;
  config: Config;
  db: Db;
  mongo: MongoClient;
  apiUrl: string;
  /** Calls the admin API. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startStack(
  opts: { env?: Record<string, string>; sim?: Partial<CronofySimulatorOptions>; withWorker?: boolean } = {},
): Promise<Stack> {
  const sim = await CronofySimulator.start({
    clientId: TEST_CLIENT_ID,
    clientSecrets: [TEST_SECRET],
    ...opts.sim,
  });
  const port = await freePort();
  const config = loadConfig({
    CRONOFY_CLIENT_ID: TEST_CLIENT_ID,
    CRONOFY_CLIENT_SECRET: TEST_SECRET,
    CRONOFY_API_URL: sim.url,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
    ADMIN_TOKEN,
    HOST: '127.0.0.1',
    PORT: String(port),
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_TASK_QUEUE: uniqueName('tq'),
    MONGODB_URI: testMongoUri(),
    MONGODB_DB: uniqueName('db'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DEBOUNCE_QUIET: '300ms',
    DEBOUNCE_MAX: '2s',
    ...opts.env,
  });
  const logger = createLogger(config.logLevel);
  const api = await startApi(config, { logger });
  const worker =
    opts.withWorker === false
      ? (undefined as unknown as WorkerRuntime)
      : await startWorker(config, { logger, workflowBundle: await workflowBundle() });
  const mongo = new MongoClient(config.mongo.uri);
  await mongo.connect();
  const db = mongo.db(config.mongo.db);
  const apiUrl = `http://127.0.0.1:${port}`;
  return {
    sim,
    api,
    worker,
    config,
    db,
    mongo,
    apiUrl,
    async admin(method, path, body) {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await api.close();
      if (worker) await worker.close();
      await sim.stop();
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}

/** Polls until `fn` returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  label = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${label}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
