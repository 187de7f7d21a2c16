/**
 * `npm run dev`: local mode. Everything on 127.0.0.1, nothing from the internet:
 *
 *   Temporal dev server + Web UI   7233 / 8233   (state in .data/dev/temporal/)
 *   MongoDB-protocol server        27017         (mongod or FerretDB; data in .data/dev/mongo/)
 *   Cronofy simulator              3001          (in memory; control API under /_sim/)
 *   the service (API + worker)     3000          (in this process, LOCAL_MODE=1)
 *   sample webhook receiver        3002          (in this process; scripts/lib/sample-webhook-receiver.ts)
 *
 * A default port that is taken is replaced by a free one; the banner prints what was used. The
 * client secret, token encryption key and admin token are generated once and kept in
 * .data/dev/secrets.json, so restarts reuse them. Each start begins with an empty Temporal and
 * MongoDB state, because the simulator's calendars, tokens and channels live in memory and die
 * with it; a demo account ("demo") is then created in the simulator and registered with
 * `POST /accounts`. A sample webhook receiver (a downstream service that verifies each delivery
 * and prints one line per change) is registered with `POST /webhooks` for every account; its lines
 * are printed here after the banner. `.data/dev/stack.json` describes the running stack (scripts/demo-changes.ts
 * reads it) and is removed on exit.
 *
 *   --demo           also make calendar changes every few seconds (scripts/demo-changes.ts)
 *   --every <dur>    interval of --demo changes (default 5s)
 *   --logs           print the service's and servers' logs here instead of .data/dev/logs/
 *   --free-ports     use free ports for everything instead of the defaults
 *   --data-dir <d>   instead of .data/dev
 *
 * SIGINT (Ctrl-C), SIGTERM and SIGHUP stop everything it started, in order: the demo generator,
 * the API, the worker (drains), the simulator, then Temporal and MongoDB. Environment variables
 * other than the ones local mode sets (e.g. DEBOUNCE_QUIET, LOG_LEVEL) reach the service as usual;
 * MONGODB_URI, when set, is used instead of starting a MongoDB-protocol server.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { type Config, loadConfig } from '../src/config.js';
import { parseDuration } from '../src/lib/duration.js';
import { type Logger, REDACT_PATHS } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import type { ApiRuntime, WorkerRuntime } from '../src/runtime.js';
import type { CronofySimulator, SimAccount } from '../src/simulator/index.js';
import { workflowIdFor } from '../src/workflows/messages.js';
import { type DemoChanges, type DemoTarget, startDemoChanges } from './demo-changes.js';
import {
  registerSampleWebhook,
  type SampleWebhookReceiver,
  startSampleWebhookReceiver,
} from './lib/sample-webhook-receiver.js';
import {
  assertPortFree,
  findOnPath,
  freePort,
  installServers,
  LOOPBACK,
  type LogTarget,
  type MongoServer,
  type TemporalDevServer,
} from './lib/servers.js';
import { inProcessService, type Stack, startServiceStack } from './lib/stack.js';
import { eventually } from './lib/wait.js';

export const DEFAULT_PORTS = {
  temporal: 7233,
  temporalUi: 8233,
  mongo: 27017,
  simulator: 3001,
  service: 3000,
  webhookReceiver: 3002,
};
export const DEMO_ACCOUNT_ID = 'demo';
export const DEMO_CALENDAR_IDS = ['cal_demo_work', 'cal_demo_personal'];
const CLIENT_ID = 'cronofy-sync-local';
const NAMESPACE = 'default';
const TASK_QUEUE = 'cronofy-sync';
const MONGODB_DB = 'cronofy_sync';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_DATA_DIR = path.join(repoRoot, '.data', 'dev');

export interface DevSecrets {
  clientSecret: string;
  /** 32 bytes, base64. */
  tokenEncryptionKey: string;
  adminToken: string;
}

/** Reads `<dir>/secrets.json`, creating it (mode 0600) with fresh random values on first use. */
export function loadOrCreateSecrets(dataDir: string): DevSecrets & { created: boolean } {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    if (saved.clientSecret && saved.tokenEncryptionKey && saved.adminToken) {
      return {
        clientSecret: saved.clientSecret,
        tokenEncryptionKey: saved.tokenEncryptionKey,
        adminToken: saved.adminToken,
        created: false,
      };
    }
  }
  const secrets: DevSecrets = {
    clientSecret: `CRN_local_${randomBytes(24).toString('base64url')}`,
    tokenEncryptionKey: randomBytes(32).toString('base64'),
    adminToken: `local-${randomBytes(18).toString('base64url')}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { ...secrets, created: true };
}

export interface DevStackOptions {
  /** Default `.data/dev` in the repository. */
  dataDir?: string;
  /** Free ports for everything (tests); otherwise the defaults, each replaced by a free one if taken. */
  freePorts?: boolean;
  /** Logs to files under `<dataDir>/logs/` (default) or to this process's stderr. */
  logs?: 'files' | 'inherit';
  /** Create and register the demo account (default true). */
  demoAccount?: boolean;
  /** Progress lines while starting (default: stderr). */
  progress?: (line: string) => void;
  /** Extra environment for the service, over `process.env` and under what local mode sets. */
  env?: Record<string, string>;
}

export interface DevStack {
  dataDir: string;
  secrets: DevSecrets;
  temporal: TemporalDevServer;
  mongo: MongoServer;
  sim: CronofySimulator;
  api: ApiRuntime;
  worker: WorkerRuntime;
  config: Config;
  /** `http://127.0.0.1:<port>` of the API and receiver. */
  serviceUrl: string;
  /** The demo account as the simulator issued it (tokens included: local mode only). */
  demo: SimAccount | undefined;
  /** Whether the demo account's first full sync finished while starting. */
  demoSynced: boolean;
  /** The sample webhook receiver, registered for every account; its lines wait for `attach`. */
  webhookReceiver: SampleWebhookReceiver & { webhookId: string };
  /**
   * Where the sample receiver's lines go from now on (lines received before are flushed there
   * first); until called they are kept.
   */
  attachWebhookLog(log: (line: string) => void): void;
  /** Web UI link to the workflow list filtered by `CronofyAccountId`. */
  workflowListUrl(accountId: string): string;
  /** Web UI link to an account's workflow. */
  workflowUrl(accountId: string): string;
  /** Stops everything started, newest first. Safe to call twice. */
  close(): Promise<void>;
}

/** Refuses to start over a running local mode (it would wipe that one's Temporal and MongoDB data). */
function assertNotRunning(dataDir: string): void {
  let pid: number | undefined;
  try {
    pid = (JSON.parse(readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as { pid?: number }).pid;
  } catch {
    return; // no stack.json: nothing runs there
  }
  if (pid === undefined || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // left behind by a process that is gone
  }
  throw new Error(
    `local mode is already running with ${dataDir} (pid ${pid}); stop it first, or use --data-dir for a second one`,
  );
}

async function choosePort(preferred: number, taken: Set<number>, free: boolean): Promise<number> {
  if (!free && !taken.has(preferred)) {
    try {
      await assertPortFree(preferred, LOOPBACK);
      taken.add(preferred);
      return preferred;
    } catch {
      // taken: fall through to a free one
    }
  }
  for (;;) {
    const port = await freePort(LOOPBACK);
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

function fileLogger(level: string, target: 'inherit' | string, name?: string): Logger {
  const destination =
    target === 'inherit' ? pino.destination(2) : pino.destination({ dest: target, mkdir: true, sync: false });
  return pino({ level, name, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}

/** A few events in the demo calendars, so the initial full sync has something to copy. */
function seedDemoEvents(sim: CronofySimulator, accountId: string, now = Date.now()): void {
  const day = Math.floor(now / 86_400_000) * 86_400_000;
  const at = (days: number, hour: number) => new Date(day + days * 86_400_000 + hour * 3_600_000);
  const seeds = [
    { calendar_id: DEMO_CALENDAR_IDS[0]!, summary: 'Weekly planning', start: at(1, 9), end: at(1, 10) },
    { calendar_id: DEMO_CALENDAR_IDS[0]!, summary: 'Architecture review', start: at(2, 14), end: at(2, 15) },
    { calendar_id: DEMO_CALENDAR_IDS[1]!, summary: 'Dentist', start: at(3, 8), end: at(3, 9) },
  ];
  for (const [i, seed] of seeds.entries()) {
    sim.upsertEvent(
      accountId,
      { ...seed, event_uid: `evt_demo_seed_${i + 1}`, description: 'Seeded by npm run dev' },
      { notify: false },
    );
  }
}

/** Starts the whole local stack. On failure, stops what it had started and rethrows. */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const progress = options.progress ?? ((line: string) => console.error(line));
  const inherit = options.logs === 'inherit';
  const logDir = path.join(dataDir, 'logs');
  const logTo = (name: string): LogTarget => (inherit ? 'inherit' : path.join(logDir, `${name}.log`));
  const free = options.freePorts === true;
  assertNotRunning(dataDir);
  const secrets = loadOrCreateSecrets(dataDir);

  let stack: Stack<ApiRuntime, WorkerRuntime> | undefined;
  let receiver: SampleWebhookReceiver | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stack?.close();
    // After the worker: no delivery is in flight any more.
    await receiver?.close();
    rmSync(path.join(dataDir, 'stack.json'), { force: true });
  };

  try {
    await installServers();
    // A fresh world each start: the simulator's state is in memory (see the header).
    const temporalDir = path.join(dataDir, 'temporal');
    const mongoDir = path.join(dataDir, findOnPath('mongod') ? 'mongod' : 'ferretdb');
    rmSync(temporalDir, { recursive: true, force: true });
    rmSync(mongoDir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });

    const taken = new Set<number>();
    const ports = {
      temporal: await choosePort(DEFAULT_PORTS.temporal, taken, free),
      temporalUi: await choosePort(DEFAULT_PORTS.temporalUi, taken, free),
      mongo: await choosePort(DEFAULT_PORTS.mongo, taken, free),
      simulator: await choosePort(DEFAULT_PORTS.simulator, taken, free),
      service: await choosePort(DEFAULT_PORTS.service, taken, free),
      webhookReceiver: await choosePort(DEFAULT_PORTS.webhookReceiver, taken, free),
    };

    const level = process.env.LOG_LEVEL ?? 'info';
    stack = await startServiceStack({
      servers: {
        start: {
          temporal: {
            port: ports.temporal,
            uiPort: ports.temporalUi,
            dbFile: path.join(temporalDir, 'temporal.db'),
            log: logTo('temporal'),
          },
          mongo: { port: ports.mongo, dataDir: mongoDir, log: logTo('mongo') },
        },
      },
      credentials: {
        clientId: CLIENT_ID,
        clientSecret: secrets.clientSecret,
        adminToken: secrets.adminToken,
        tokenEncryptionKey: secrets.tokenEncryptionKey,
      },
      sim: {
        host: LOOPBACK,
        port: ports.simulator,
        logger: fileLogger(
          level,
          inherit ? 'inherit' : path.join(logDir, 'simulator.log'),
          'cronofy-simulator',
        ),
      },
      port: ports.service,
      baseEnv: { ...process.env, ...options.env },
      env: {
        LOCAL_MODE: '1',
        TEMPORAL_NAMESPACE: NAMESPACE,
        TEMPORAL_TASK_QUEUE: TASK_QUEUE,
        MONGODB_DB: MONGODB_DB,
      },
      service: inProcessService({
        logger: (config) =>
          fileLogger(config.logLevel, inherit ? 'inherit' : path.join(logDir, 'service.log')),
        // One registry: the API's /metrics shows the worker's metrics too, as with `npm start`.
        metrics: createMetrics({ defaultMetrics: true }),
      }),
      onStep: (step) =>
        progress(
          step === 'servers'
            ? 'Starting the Temporal dev server and the MongoDB-protocol server...'
            : 'Starting the service (API + worker; the worker bundles the workflow code first)...',
        ),
      onCloseError: (err) => progress(`while stopping: ${String(err)}`),
    });
    const { sim, api, apiUrl: serviceUrl } = stack;
    const temporal = stack.temporal!;
    const mongo = stack.mongoServer!;
    const worker = stack.worker!;
    const config = loadConfig(stack.env);

    const uiUrl = temporal.uiUrl ?? '';
    const workflowListUrl = (accountId: string) =>
      `${uiUrl}/namespaces/${NAMESPACE}/workflows?query=${encodeURIComponent(`CronofyAccountId="${accountId}"`)}`;
    const workflowUrl = (accountId: string) =>
      `${uiUrl}/namespaces/${NAMESPACE}/workflows/${encodeURIComponent(workflowIdFor(accountId))}`;

    let demo: SimAccount | undefined;
    let demoSynced = false;
    if (options.demoAccount !== false) {
      progress(`Registering the demo account "${DEMO_ACCOUNT_ID}"...`);
      demo = sim.createAccount({ accountId: DEMO_ACCOUNT_ID, calendarIds: DEMO_CALENDAR_IDS });
      seedDemoEvents(sim, DEMO_ACCOUNT_ID);
      await stack.register(demo);
      const client = new MongoClient(mongo.uri);
      try {
        const synced = await eventually(
          () =>
            client
              .db(MONGODB_DB)
              .collection('sync_runs')
              .findOne({ accountId: DEMO_ACCOUNT_ID, kind: 'full', outcome: 'succeeded' }),
          60_000,
          "the demo account's initial full sync",
          200,
        ).catch(() => undefined);
        demoSynced = Boolean(synced);
        if (!synced)
          progress("The demo account's initial full sync has not finished after 60 s; see the logs.");
      } finally {
        await client.close();
      }
    }

    // The downstream service: a sample receiver, registered for every account (the demo's first
    // deliveries, its seeded events, are kept until the banner is out).
    progress('Starting the sample webhook receiver and registering it (POST /webhooks)...');
    const held: string[] = [];
    receiver = await startSampleWebhookReceiver({
      host: LOOPBACK,
      port: ports.webhookReceiver,
      log: (line) => held.push(line),
    });
    const registered = await registerSampleWebhook(
      serviceUrl,
      secrets.adminToken,
      receiver.url,
      'npm run dev: the sample webhook receiver',
    );
    receiver.setSecret(registered.secret);
    const webhookReceiver = Object.assign(receiver, { webhookId: registered.id });
    const attachWebhookLog = (log: (line: string) => void) => {
      for (const line of held.splice(0)) log(line);
      receiver?.setLog(log);
    };

    const dev: DevStack = {
      dataDir,
      secrets,
      temporal,
      mongo,
      sim,
      api,
      worker,
      config,
      serviceUrl,
      demo,
      demoSynced,
      webhookReceiver,
      attachWebhookLog,
      workflowListUrl,
      workflowUrl,
      close,
    };
    writeFileSync(path.join(dataDir, 'stack.json'), `${JSON.stringify(describeForFile(dev), null, 2)}\n`);
    return dev;
  } catch (err) {
    await close();
    throw err;
  }
}

function describeForFile(s: DevStack) {
  return {
    pid: process.pid,
    service: { url: s.serviceUrl, docs: `${s.serviceUrl}/docs`, metrics: `${s.serviceUrl}/metrics` },
    adminTokenFile: path.join(s.dataDir, 'secrets.json'),
    simulator: { url: s.sim.url },
    webhookReceiver: { url: s.webhookReceiver.url, webhookId: s.webhookReceiver.webhookId },
    temporal: {
      address: s.temporal.address,
      namespace: NAMESPACE,
      taskQueue: TASK_QUEUE,
      uiUrl: s.temporal.uiUrl,
    },
    mongo: { uri: s.mongo.uri, db: MONGODB_DB, kind: s.mongo.kind },
    demo: s.demo ? { accountId: s.demo.accountId, calendarIds: s.demo.calendarIds } : undefined,
  };
}

/** What to print once the stack is up. */
export function banner(s: DevStack, opts: { logs: 'files' | 'inherit'; demoChanges: boolean }): string {
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  const id = s.demo?.accountId ?? DEMO_ACCOUNT_ID;
  const mongoUri = `${s.mongo.uri.replace(/\/+$/, '')}/${MONGODB_DB}`;
  const tomorrow = new Date(Math.floor(Date.now() / 86_400_000 + 1) * 86_400_000 + 11 * 3_600_000);
  const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
  const event = {
    calendar_id: DEMO_CALENDAR_IDS[0],
    event_uid: 'evt_hello',
    summary: 'Hello from the walkthrough',
    start: iso(tomorrow),
    end: iso(new Date(tomorrow.getTime() + 1_800_000)),
  };
  const lines = [
    '',
    'cronofy-sync local mode is up. Ctrl-C stops everything.',
    '',
    `  Service (API + worker)   ${s.serviceUrl}`,
    `    receiver               ${s.serviceUrl}/cronofy/notifications/<accountId>`,
    `    API docs (OpenAPI)     ${s.serviceUrl}/docs`,
    `    health, metrics        ${s.serviceUrl}/readyz   ${s.serviceUrl}/metrics`,
    `    admin token            ${s.secrets.adminToken}`,
    `  Cronofy simulator        ${s.sim.url}   (control API: ${s.sim.url}/_sim/...)`,
    `  Sample webhook receiver  ${s.webhookReceiver.url}   (webhook ${s.webhookReceiver.webhookId}, every account; prints [webhook] lines below)`,
    `  Temporal                 ${s.temporal.address}   namespace ${NAMESPACE}, task queue ${TASK_QUEUE}`,
    `    Web UI                 ${s.temporal.uiUrl}`,
    `    the demo workflow      ${s.workflowListUrl(id)}`,
    `  MongoDB                  ${mongoUri}   (${s.mongo.kind})`,
    `    try                    mongosh '${mongoUri}' --eval 'db.events.find({ accountId: "${id}" }).sort({ syncedAt: -1 }).limit(5)'`,
    '',
    ...(s.demo
      ? [
          `Demo account "${id}" (calendars ${s.demo.calendarIds.join(', ')}) is registered` +
            (s.demoSynced ? ' and synced.' : '; its first sync is still running (see the logs).'),
          '  Make a change in its calendar (the simulator pushes a notification to the receiver):',
          `    curl -s -X POST ${s.sim.url}/_sim/accounts/${id}/events -H 'content-type: application/json' \\`,
          `      -d '${JSON.stringify(event)}'`,
          `  Its status:   curl -s -H 'Authorization: Bearer ${s.secrets.adminToken}' ${s.serviceUrl}/accounts/${id}`,
          `  Its events:   curl -s -H 'Authorization: Bearer ${s.secrets.adminToken}' ${s.serviceUrl}/accounts/${id}/events`,
          `  Its feed:     curl -s -H 'Authorization: Bearer ${s.secrets.adminToken}' ${s.serviceUrl}/accounts/${id}/changes`,
          '  Each change reaches the sample webhook receiver, verified, as a "[webhook] ..." line here.',
          opts.demoChanges
            ? '  Demo changes are being made every few seconds (--demo); they are listed below.'
            : '  A stream of changes: npx tsx scripts/demo-changes.ts   (or start with: npm run dev -- --demo)',
        ]
      : [
          'No demo account (--no-demo-account): create accounts with POST /_sim/accounts, then POST /accounts.',
        ]),
    '',
    opts.logs === 'files'
      ? `Logs: ${rel(path.join(s.dataDir, 'logs'))}/   Secrets: ${rel(path.join(s.dataDir, 'secrets.json'))}`
      : `Secrets: ${rel(path.join(s.dataDir, 'secrets.json'))}`,
    'See docs/local-mode.md for a walkthrough.',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      demo: { type: 'boolean' },
      every: { type: 'string' },
      logs: { type: 'boolean' },
      'free-ports': { type: 'boolean' },
      'data-dir': { type: 'string' },
      'no-demo-account': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'usage: npm run dev -- [--demo] [--every 5s] [--logs] [--free-ports] [--data-dir DIR] [--no-demo-account]',
    );
    return;
  }
  const everyMs = values.every === undefined ? 5_000 : parseDuration(values.every);
  if (everyMs === undefined || everyMs <= 0)
    throw new Error(`--every: expected a duration such as 5s; got "${values.every}"`);

  let stack: DevStack | undefined;
  let generator: DemoChanges | undefined;
  let stopping = false;
  let watchdog: NodeJS.Timeout | undefined;
  const stop = async (code: number) => {
    stopping = true;
    if (watchdog) clearInterval(watchdog);
    // Whatever happens, do not hang: the servers also die with this process (parent-death signal).
    setTimeout(() => {
      console.error('Still stopping after 45 s; exiting.');
      process.exit(1);
    }, 45_000).unref();
    await generator?.stop();
    await stack?.close();
    process.exit(code);
  };
  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // One Ctrl-C often arrives twice (from the terminal to the process group, and relayed by
      // npm/tsx): only a second press, noticeably later, means "quit now".
      if (stopping && Date.now() - firstSignalAt < 1_500) return;
      if (stopping) {
        console.error('\nStill stopping; a second Ctrl-C quits at once.');
        process.exit(130);
      }
      firstSignalAt = Date.now();
      console.error(`\n${signal}: stopping everything...`);
      void stop(0);
    });
  }

  const logs = values.logs ? 'inherit' : 'files';
  stack = await startDevStack({
    dataDir: values['data-dir'],
    freePorts: values['free-ports'],
    logs,
    demoAccount: values['no-demo-account'] !== true,
  });
  if (stopping) return; // a signal arrived while starting; stop() is already running
  console.log(banner(stack, { logs, demoChanges: values.demo === true && stack.demo !== undefined }));
  stack.attachWebhookLog((line) => console.log(line));

  if (values.demo && stack.demo) {
    const target: DemoTarget = {
      simulatorUrl: stack.sim.url,
      accountId: stack.demo.accountId,
      calendarIds: stack.demo.calendarIds,
    };
    generator = startDemoChanges(target, { everyMs, log: (line) => console.log(line) });
  }
  // Leave (non-zero) when a part dies on its own instead of pretending all is well.
  const s = stack;
  s.worker.done.catch((err: unknown) => {
    if (stopping) return;
    console.error(`The worker stopped: ${err instanceof Error ? err.message : String(err)}. Stopping.`);
    void stop(1);
  });
  watchdog = setInterval(() => {
    const dead = [
      !s.temporal.running && 'Temporal dev server',
      !s.mongo.running && 'MongoDB-protocol server',
    ].filter(Boolean);
    if (dead.length > 0 && !stopping) {
      console.error(`${dead.join(' and ')} stopped unexpectedly; see the logs. Stopping.`);
      void stop(1);
    }
  }, 1_000);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
