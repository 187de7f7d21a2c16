/**
 * The whole service on real servers, started one way for local mode (scripts/dev.ts), the tests
 * (test/support/stack.ts) and the benchmarks (bench/lib/stack.ts):
 *
 *   1. the Temporal dev server and a MongoDB-protocol server, started here (./servers.ts) or given;
 *   2. the Cronofy simulator, in this process (the caller changes calendars and reads its logs);
 *   3. the service's two roles, the API then the worker, each started by a `ServiceRunner`: in this
 *      process (`inProcessService`, local mode and tests) or as child processes (the benchmarks).
 *
 * The service is configured from one environment (`Stack.env`), as `npm start` is: the caller's
 * settings, then what the stack decides (credentials, addresses, ports), then the caller's
 * overrides. `close()` stops everything started, newest first, the API before the worker (it stops
 * taking notifications, then the worker drains, as src/main.ts does); a failed start stops what
 * had started and rethrows.
 */
import { type Config, loadConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import { type ApiRuntime, startApi, startWorker, type WorkerRuntime } from '../../src/runtime.js';
import {
  CronofySimulator,
  type CronofySimulatorOptions,
  type SimAccount,
} from '../../src/simulator/index.js';
import {
  freePort,
  LOOPBACK,
  type MongoServer,
  type StartMongoOptions,
  type StartTemporalOptions,
  startMongo,
  startTemporalDevServer,
  type TemporalDevServer,
} from './servers.js';

export interface Closable {
  close(): Promise<void>;
}

/** Starts one role of the service from its environment. */
export interface ServiceRunner<Api extends Closable, Worker extends Closable> {
  api(env: Record<string, string>): Promise<Api>;
  worker(env: Record<string, string>): Promise<Worker>;
}

/** The application's Cronofy credentials (the simulator and the service share them) and service secrets. */
export interface StackCredentials {
  clientId: string;
  clientSecret: string;
  adminToken: string;
  /** 32 bytes, base64. */
  tokenEncryptionKey: string;
}

export interface StackOptions<Api extends Closable, Worker extends Closable> {
  /** Start the two servers here (with these options), or use running ones. */
  servers:
    | { start: { temporal?: StartTemporalOptions; mongo?: StartMongoOptions } }
    | { temporalAddress: string; mongoUri: string };
  credentials: StackCredentials;
  /** Simulator options over the credentials; the object is kept as `Stack.simOptions`. */
  sim?: Partial<CronofySimulatorOptions>;
  /** The API's port on 127.0.0.1; default a free one. */
  port?: number;
  /** Service environment under what the stack sets (local mode passes `process.env`). */
  baseEnv?: Record<string, string | undefined>;
  /** Service environment over what the stack sets (task queue, database, timings, LOG_LEVEL...). */
  env?: Record<string, string | undefined>;
  service: ServiceRunner<Api, Worker>;
  /** Start the worker (default true). */
  worker?: boolean;
  /** Called before each step, so the caller can say what is starting. */
  onStep?: (step: 'servers' | 'service') => void;
  /**
   * A part that failed to stop. Stopping goes on with the next part either way; without this,
   * `close()` rejects with the first such error once everything else has stopped.
   */
  onCloseError?: (err: unknown) => void;
}

export interface Stack<Api extends Closable, Worker extends Closable> {
  /** The servers started here (undefined when given). */
  temporal: TemporalDevServer | undefined;
  mongoServer: MongoServer | undefined;
  temporalAddress: string;
  mongoUri: string;
  sim: CronofySimulator;
  /**
   * The options object the simulator was started with. The simulator reads `rateLimit` from it on
   * every request, so a caller changes Cronofy's budget mid-run by assigning `simOptions.rateLimit`.
   */
  simOptions: CronofySimulatorOptions;
  /** The service's environment; `restartWorker(env)` adds to it. */
  env: Record<string, string>;
  /** `http://127.0.0.1:<port>` of the API and receiver. */
  apiUrl: string;
  api: Api;
  /** The current worker (a new one after `restartWorker`); undefined with `worker: false`. */
  readonly worker: Worker | undefined;
  /** Calls the admin API with the admin token. */
  admin(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /**
   * Registers an account with `POST /accounts`, with the tokens the simulator issued. Given an id,
   * the simulator account is created first (once: a retried registration sends the same tokens).
   */
  register(account: string | SimAccount): Promise<SimAccount>;
  /** Stops the worker and starts a new one with `env` added to the stack's environment. */
  restartWorker(env?: Record<string, string>): Promise<Worker>;
  /** Stops everything started, newest first. Safe to call twice. */
  close(): Promise<void>;
}

/** The service's roles in this process: `startApi` / `startWorker` from src/runtime.ts. */
export function inProcessService(
  opts: {
    /** Made once, from the first role's config, and shared by both roles. Default `createLogger`. */
    logger?: (config: Config) => Logger;
    /** One registry for both roles (the API's /metrics then shows the worker's too). */
    metrics?: Metrics;
    /** A prebuilt workflow bundle (bundling takes seconds; tests share one per file). */
    workflowBundle?: () => Promise<{ code: string }>;
  } = {},
): ServiceRunner<ApiRuntime, WorkerRuntime> {
  let log: Logger | undefined;
  const loggerFor = (config: Config) => {
    log ??= opts.logger ? opts.logger(config) : createLogger(config.logLevel);
    return log;
  };
  return {
    async api(env) {
      const config = loadConfig(env);
      const api = await startApi(config, { logger: loggerFor(config), metrics: opts.metrics });
      // The API connects to MongoDB (and creates the indexes) in the background; the stack is
      // ready when its admin API serves, and the worker, which creates the same indexes, starts
      // after it (FerretDB 1.x does not take concurrent index creation on an empty database).
      await api.mongoReady;
      return api;
    },
    async worker(env) {
      const config = loadConfig(env);
      const workflowBundle = opts.workflowBundle ? await opts.workflowBundle() : undefined;
      return startWorker(config, { logger: loggerFor(config), metrics: opts.metrics, workflowBundle });
    },
  };
}

export async function startServiceStack<Api extends Closable, Worker extends Closable>(
  o: StackOptions<Api, Worker>,
): Promise<Stack<Api, Worker>> {
  const closers: Array<() => Promise<unknown>> = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const errors: unknown[] = [];
    for (const fn of closers.reverse()) await fn().catch((err: unknown) => errors.push(err));
    if (o.onCloseError) for (const err of errors) o.onCloseError(err);
    else if (errors.length > 0) throw errors[0];
  };

  try {
    let temporal: TemporalDevServer | undefined;
    let mongoServer: MongoServer | undefined;
    if ('start' in o.servers) {
      o.onStep?.('servers');
      const started = await Promise.allSettled([
        startTemporalDevServer(o.servers.start.temporal),
        startMongo(o.servers.start.mongo),
      ]);
      for (const r of started) if (r.status === 'fulfilled') closers.push(() => r.value.stop());
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      temporal = (started[0] as PromiseFulfilledResult<TemporalDevServer>).value;
      mongoServer = (started[1] as PromiseFulfilledResult<MongoServer>).value;
    }
    const temporalAddress = temporal?.address ?? (o.servers as { temporalAddress: string }).temporalAddress;
    const mongoUri = mongoServer?.uri ?? (o.servers as { mongoUri: string }).mongoUri;

    const { credentials: c } = o;
    const simOptions: CronofySimulatorOptions = {
      clientId: c.clientId,
      clientSecrets: [c.clientSecret],
      ...o.sim,
    };
    const sim = await CronofySimulator.start(simOptions);
    closers.push(() => sim.stop());

    const port = o.port ?? (await freePort());
    const apiUrl = `http://${LOOPBACK}:${port}`;
    const env = definedOnly({
      // Everything is on loopback (local mode, tests, benchmarks): a loopback PUBLIC_URL and the
      // short test credentials are only accepted in local mode.
      LOCAL_MODE: '1',
      ...o.baseEnv,
      CRONOFY_CLIENT_ID: c.clientId,
      CRONOFY_CLIENT_SECRET: c.clientSecret,
      CRONOFY_API_URL: sim.url,
      TOKEN_ENCRYPTION_KEY: c.tokenEncryptionKey,
      ADMIN_TOKEN: c.adminToken,
      HOST: LOOPBACK,
      PORT: String(port),
      PUBLIC_URL: apiUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      MONGODB_URI: mongoUri,
      ...o.env,
    });

    o.onStep?.('service');
    // One after the other: both create the indexes at start, which FerretDB 1.x does not take
    // concurrently on an empty database (it drops the connection).
    const api = await o.service.api(env);
    closers.push(() => api.close());
    let worker = o.worker === false ? undefined : await o.service.worker(env);
    // Below the API's closer, so that the API stops first and the worker drains after it.
    closers.splice(closers.length - 1, 0, () => worker?.close() ?? Promise.resolve());

    const admin: Stack<Api, Worker>['admin'] = async (method, route, body) => {
      const res = await fetch(`${apiUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${c.adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    const simAccounts = new Map<string, SimAccount>();

    return {
      temporal,
      mongoServer,
      temporalAddress,
      mongoUri,
      sim,
      simOptions,
      env,
      apiUrl,
      api,
      get worker() {
        return worker;
      },
      admin,
      async register(account) {
        const id = typeof account === 'string' ? account : account.accountId;
        const a =
          typeof account === 'string'
            ? (simAccounts.get(id) ?? sim.createAccount({ accountId: id }))
            : account;
        simAccounts.set(id, a);
        const res = await admin('POST', '/accounts', {
          accountId: id,
          accessToken: a.accessToken,
          refreshToken: a.refreshToken,
        });
        if (res.status !== 201 && res.status !== 200) {
          throw new Error(`POST /accounts ${id}: ${res.status} ${JSON.stringify(res.body)}`);
        }
        return a;
      },
      async restartWorker(extra = {}) {
        await worker?.close();
        Object.assign(env, extra);
        worker = await o.service.worker(env);
        return worker;
      },
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
}
