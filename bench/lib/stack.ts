/**
 * The whole service on real servers, for the benchmarks, from the stack starter shared with local
 * mode and the tests (scripts/lib/stack.ts): a Temporal dev server (in memory, headless) and a
 * MongoDB-protocol server started on free ports, the Cronofy simulator in this process (so the
 * bench can change calendars and read its request log), and the API and the worker each in its
 * own process (bench/lib/service-process.ts), configured from the environment exactly like
 * `npm run start:api` / `start:worker`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { type Db, MongoClient } from 'mongodb';
import type { MongoServer, TemporalDevServer } from '../../scripts/lib/servers.js';
import { type ServiceRunner, type Stack, startServiceStack } from '../../scripts/lib/stack.js';
import { eventually } from '../../scripts/lib/wait.js';
import { signatureHeader } from '../../src/cronofy/hmac.js';
import type { CronofySimulator, CronofySimulatorOptions, SimAccount } from '../../src/simulator/index.js';
import { pool } from './pace.js';
import type { ServiceMessage, ServiceRequest, ServiceStats } from './service-process.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const BENCH_CLIENT_ID = 'bench-client';
export const BENCH_SECRET = 'CRN_bench_secret_0123456789abcdefABCD';
export const BENCH_ADMIN_TOKEN = 'bench-admin-token';

const live = new Set<ChildProcess>();
let exitHook = false;

/** A role of the service in its own process. */
export class ServiceProcess {
  private constructor(
    readonly role: 'api' | 'worker',
    private readonly child: ChildProcess,
    readonly url: string,
    readonly logFile: string,
  ) {}

  static start(
    role: 'api' | 'worker',
    env: Record<string, string>,
    timeoutMs = 120_000,
  ): Promise<ServiceProcess> {
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    const logFile = path.join(os.tmpdir(), `cronofy-bench-${role}-${process.pid}-${Date.now()}.log`);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'bench', 'lib', 'service-process.ts'), role],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, BENCH_SERVICE_LOG: logFile, ...env },
      },
    );
    live.add(child);
    child.once('exit', () => live.delete(child));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${role} process not ready within ${timeoutMs} ms (log: ${logFile})`));
      }, timeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${role} process exited (${code}) before it was ready (log: ${logFile})`));
      };
      child.once('exit', onExit);
      child.on('message', (m: ServiceMessage) => {
        if (m.kind === 'ready') {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(new ServiceProcess(role, child, m.url.replace('0.0.0.0', '127.0.0.1'), logFile));
        } else if (m.kind === 'failed') {
          clearTimeout(timer);
          child.off('exit', onExit);
          reject(new Error(`${role} process failed to start: ${m.error}`));
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private ask<K extends ServiceMessage['kind']>(
    req: ServiceRequest,
    kind: K,
    timeoutMs = 30_000,
  ): Promise<Extract<ServiceMessage, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', on);
        reject(new Error(`${this.role} process did not answer ${req.kind}`));
      }, timeoutMs);
      const on = (m: ServiceMessage) => {
        if (m.kind !== kind) return;
        clearTimeout(timer);
        this.child.off('message', on);
        resolve(m as Extract<ServiceMessage, { kind: K }>);
      };
      this.child.on('message', on);
      this.child.send(req);
    });
  }

  async stats(): Promise<ServiceStats> {
    return (await this.ask({ kind: 'stats' }, 'stats')).stats;
  }

  startProfile(): void {
    this.child.send({ kind: 'profile-start' } satisfies ServiceRequest);
  }

  async stopProfile(file: string): Promise<void> {
    await this.ask({ kind: 'profile-stop', file }, 'profiled', 60_000);
  }

  /** `stop()` with the default grace: how the stack starter stops a role. */
  close(): Promise<void> {
    return this.stop();
  }

  /** SIGTERM (graceful: the worker finishes activities), SIGKILL after `graceMs`. */
  async stop(graceMs = 40_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export interface BenchStackOptions {
  /** Simulator options; the object is kept (see `BenchStack.simOptions`). */
  sim?: Partial<CronofySimulatorOptions>;
  /** Service environment on top of the defaults (timings, rate limits, LOG_LEVEL...). */
  env?: Record<string, string>;
  log: (message: string) => void;
  /** Start the worker (default true). */
  worker?: boolean;
}

export interface BenchStack
  extends Pick<
    Stack<ServiceProcess, ServiceProcess>,
    'sim' | 'simOptions' | 'env' | 'apiUrl' | 'api' | 'worker' | 'admin' | 'restartWorker' | 'close'
  > {
  temporal: TemporalDevServer;
  mongoServer: MongoServer;
  sim: CronofySimulator;
  client: Client;
  db: Db;
  mongo: MongoClient;
  /** Creates the account in the simulator and registers it through `POST /accounts`. */
  register(accountId: string): Promise<SimAccount>;
  /** A signed `change` push for the account's channel, as Cronofy would send it. */
  signedChange(
    accountId: string,
    channelId: string,
    changesSince: string,
  ): { body: Buffer; headers: Record<string, string> };
}

/** Each role in its own process. */
const serviceProcesses: ServiceRunner<ServiceProcess, ServiceProcess> = {
  api: (env) => ServiceProcess.start('api', env),
  worker: (env) => ServiceProcess.start('worker', env),
};

export async function startBenchStack(o: BenchStackOptions): Promise<BenchStack> {
  const stack = await startServiceStack({
    servers: { start: { temporal: { ui: false } } },
    credentials: {
      clientId: BENCH_CLIENT_ID,
      clientSecret: BENCH_SECRET,
      adminToken: BENCH_ADMIN_TOKEN,
      tokenEncryptionKey: Buffer.alloc(32, 7).toString('base64'),
    },
    sim: o.sim,
    env: {
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'cronofy-sync-bench',
      MONGODB_DB: 'cronofy_sync_bench',
      LOG_LEVEL: 'warn',
      ...o.env,
    },
    service: serviceProcesses,
    worker: o.worker !== false,
    onStep: (step) =>
      o.log(
        step === 'servers'
          ? 'starting the Temporal dev server (in memory, headless) and the MongoDB-protocol server'
          : `starting the API${o.worker === false ? '' : ' and the worker'} (one process each)`,
      ),
    // A bench reports its results; a part that does not stop cleanly at the end does not matter.
    onCloseError: () => undefined,
  });
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await stack.close();
  };
  try {
    const connection = await Connection.connect({ address: stack.temporalAddress });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const mongo = new MongoClient(stack.mongoUri);
    await mongo.connect();
    cleanups.push(() => mongo.close());
    const db = mongo.db(stack.env.MONGODB_DB!);
    const { apiUrl } = stack;
    return {
      temporal: stack.temporal!,
      mongoServer: stack.mongoServer!,
      sim: stack.sim,
      simOptions: stack.simOptions,
      env: stack.env,
      apiUrl,
      api: stack.api,
      get worker() {
        return stack.worker;
      },
      client,
      db,
      mongo,
      admin: stack.admin,
      register: (accountId) => stack.register(accountId),
      signedChange(accountId, channelId, changesSince) {
        const body = Buffer.from(
          JSON.stringify({
            notification: { type: 'change', changes_since: changesSince },
            channel: {
              channel_id: channelId,
              callback_url: `${apiUrl}/cronofy/notifications/${accountId}`,
              filters: {},
            },
          }),
        );
        return {
          body,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'content-length': String(body.length),
            'cronofy-hmac-sha256': signatureHeader(body, [BENCH_SECRET]),
          },
        };
      },
      restartWorker: (env) => stack.restartWorker(env),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Registers every account (16 at a time) through `POST /accounts` and waits until each has a
 * channel and a successful initial full sync. Returns each account's first calendar.
 */
export async function registerAll(
  stack: BenchStack,
  accounts: readonly string[],
): Promise<Map<string, string>> {
  const calendars = new Map<string, string>();
  await pool([...accounts], 16, async (id) => {
    const a = await stack.register(id);
    calendars.set(id, a.calendarIds[0]!);
  });
  await eventually(
    async () =>
      (await stack.db.collection('sync_runs').distinct('accountId', { outcome: 'succeeded', kind: 'full' }))
        .length >= accounts.length && accounts.every((id) => stack.sim.channels(id).length === 1),
    600_000,
    'every account to have a channel and its initial full sync',
    2_000,
  );
  return calendars;
}
