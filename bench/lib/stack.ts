/**
 * The whole service on real servers, for the benchmarks: a Temporal dev server (in memory,
 * headless) and a MongoDB-protocol server started here on free ports (scripts/lib/servers.ts), the
 * Cronofy simulator in this process (so the bench can change calendars and read its request log),
 * and the API and the worker each in its own process (bench/lib/service-process.ts), configured
 * from the environment exactly like `npm run start:api` / `start:worker`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { type Db, MongoClient } from 'mongodb';
import {
  freePort,
  type MongoServer,
  startMongo,
  startTemporalDevServer,
  type TemporalDevServer,
} from '../../scripts/lib/servers.js';
import { signatureHeader } from '../../src/cronofy/hmac.js';
import {
  CronofySimulator,
  type CronofySimulatorOptions,
  type SimAccount,
} from '../../src/simulator/index.js';
import type { ServiceMessage, ServiceRequest, ServiceStats } from './service-process.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const BENCH_CLIENT_ID = 'bench-client';
export const BENCH_SECRET = 'CRN_bench_secret_0123456789abcdefABCD';
export const BENCH_ADMIN_TOKEN = 'bench-admin-token';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until truthy; throws after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  label: string,
  everyMs = 200,
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
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${label}${last ? `: ${String(last)}` : ''}`,
      );
    await sleep(everyMs);
  }
}

/** `p`, or `fallback` if it has not settled within `ms` (a stuck server must not hang a bench). */
export function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(fallback), ms);
    }),
  ]);
}

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

export interface BenchStack {
  temporal: TemporalDevServer;
  mongoServer: MongoServer;
  sim: CronofySimulator;
  /**
   * The options object the simulator was started with. The simulator reads `rateLimit` from it on
   * every request, so a bench changes Cronofy's budget mid-run by assigning `simOptions.rateLimit`.
   */
  simOptions: CronofySimulatorOptions;
  api: ServiceProcess;
  worker: ServiceProcess | undefined;
  env: Record<string, string>;
  apiUrl: string;
  client: Client;
  db: Db;
  mongo: MongoClient;
  admin(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Creates the account in the simulator and registers it through `POST /accounts`. */
  register(accountId: string): Promise<SimAccount>;
  /** A signed `change` push for the account's channel, as Cronofy would send it. */
  signedChange(
    accountId: string,
    channelId: string,
    changesSince: string,
  ): { body: Buffer; headers: Record<string, string> };
  /** Stops the worker and starts a new one with `env` on top of the stack's environment. */
  restartWorker(env?: Record<string, string>): Promise<ServiceProcess>;
  close(): Promise<void>;
}

export async function startBenchStack(o: BenchStackOptions): Promise<BenchStack> {
  o.log('starting the Temporal dev server (in memory, headless) and the MongoDB-protocol server');
  const [temporal, mongoServer] = await Promise.all([startTemporalDevServer({ ui: false }), startMongo()]);
  const cleanups: Array<() => Promise<unknown>> = [() => temporal.stop(), () => mongoServer.stop()];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const simOptions: CronofySimulatorOptions = {
      clientId: BENCH_CLIENT_ID,
      clientSecrets: [BENCH_SECRET],
      ...o.sim,
    };
    const sim = await CronofySimulator.start(simOptions);
    cleanups.push(() => sim.stop());
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      CRONOFY_CLIENT_ID: BENCH_CLIENT_ID,
      CRONOFY_CLIENT_SECRET: BENCH_SECRET,
      CRONOFY_API_URL: sim.url,
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: apiUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'cronofy-sync-bench',
      MONGODB_URI: mongoServer.uri,
      MONGODB_DB: 'cronofy_sync_bench',
      LOG_LEVEL: 'warn',
      ...o.env,
    };
    o.log(`starting the API${o.worker === false ? '' : ' and the worker'} (one process each)`);
    // One after the other: both create the indexes at start, which FerretDB 1.x does not take
    // concurrently on an empty database (it drops the connection).
    const api = await ServiceProcess.start('api', env);
    const worker =
      o.worker === false
        ? undefined
        : await ServiceProcess.start('worker', env).catch(async (err) => {
            await api.stop();
            throw err;
          });
    let currentWorker = worker;
    cleanups.push(() => api.stop());
    cleanups.push(() => currentWorker?.stop() ?? Promise.resolve());
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const mongo = new MongoClient(mongoServer.uri);
    await mongo.connect();
    cleanups.push(() => mongo.close());
    const db = mongo.db(env.MONGODB_DB!);
    const admin: BenchStack['admin'] = async (method, route, body) => {
      const res = await fetch(`${apiUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${BENCH_ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    const simAccounts = new Map<string, SimAccount>();
    const stack: BenchStack = {
      temporal,
      mongoServer,
      sim,
      simOptions,
      api,
      get worker() {
        return currentWorker;
      },
      env,
      apiUrl,
      client,
      db,
      mongo,
      admin,
      async register(accountId) {
        // Created once: a retried registration sends the same tokens again.
        const a = simAccounts.get(accountId) ?? sim.createAccount({ accountId });
        simAccounts.set(accountId, a);
        const res = await admin('POST', '/accounts', {
          accountId,
          accessToken: a.accessToken,
          refreshToken: a.refreshToken,
        });
        if (res.status !== 201 && res.status !== 200) {
          throw new Error(`POST /accounts ${accountId}: ${res.status} ${JSON.stringify(res.body)}`);
        }
        return a;
      },
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
      async restartWorker(extra = {}) {
        await currentWorker?.stop();
        Object.assign(env, extra);
        currentWorker = await ServiceProcess.start('worker', env);
        return currentWorker;
      },
      close: closeAll,
    };
    return stack;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
