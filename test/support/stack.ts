/**
 * The whole service on real servers for integration and end-to-end tests (scripts/lib/stack.ts,
 * the starter local mode and the benchmarks use too): the Cronofy simulator, the API on a real
 * port, and a worker, in this process, against the run-wide Temporal dev server and
 * MongoDB-protocol server. Each stack gets its own database and task queue.
 */
import { type Db, MongoClient } from 'mongodb';
import { inProcessService, startServiceStack } from '../../scripts/lib/stack.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { ApiRuntime, WorkerRuntime } from '../../src/runtime.js';
import type { CronofySimulator, CronofySimulatorOptions } from '../../src/simulator/index.js';
import { bundleWorkflows } from '../../src/worker.js';
import { testMongoUri, testTemporalAddress, uniqueName } from './env.js';

export { eventually } from '../../scripts/lib/wait.js';

export const TEST_CLIENT_ID = 'test-client';
export const TEST_SECRET = 'CRN_test_secret_0123456789';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

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
  const stack = await startServiceStack({
    servers: { temporalAddress: testTemporalAddress(), mongoUri: testMongoUri() },
    credentials: {
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_SECRET,
      adminToken: ADMIN_TOKEN,
      tokenEncryptionKey: Buffer.alloc(32, 9).toString('base64'),
    },
    sim: opts.sim,
    env: {
      TEMPORAL_TASK_QUEUE: uniqueName('tq'),
      MONGODB_DB: uniqueName('db'),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DEBOUNCE_QUIET: '300ms',
      DEBOUNCE_MAX: '2s',
      ...opts.env,
    },
    service: inProcessService({ workflowBundle }),
    worker: opts.withWorker !== false,
  });
  const config = loadConfig(stack.env);
  const mongo = new MongoClient(config.mongo.uri);
  await mongo.connect();
  const db = mongo.db(config.mongo.db);
  return {
    sim: stack.sim,
    api: stack.api,
    // Tests that ask for no worker never touch it.
    worker: stack.worker as WorkerRuntime,
    config,
    db,
    mongo,
    apiUrl: stack.apiUrl,
    admin: stack.admin,
    async close() {
      await stack.close();
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}
