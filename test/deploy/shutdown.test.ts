/**
 * The process as operators run it: `tsx src/main.ts all` (npm start) and the compiled image entry
 * point `node dist/main.js` (Dockerfile), against the run-wide Temporal and MongoDB servers.
 *  - invalid configuration stops it at once with exit code 78 and the variable's name;
 *  - SIGTERM while a sync is running: the API closes, the worker lets the sync finish, exit 0;
 *  - `npm run build` output runs: tsc, then dist/bundle-workflows.js writes the workflow bundle,
 *    which the compiled worker loads (no bundling at start); the image's HEALTHCHECK script answers.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/servers.js';
import { CronofySimulator } from '../../src/simulator/index.js';
import { testMongoUri, testTemporalAddress, uniqueName } from '../support/env.js';
import { eventually } from '../support/stack.js';
import { type Child, cleanEnv, repoRoot, start, tsxBin } from './processes.js';

const CLIENT_ID = 'deploy-test-client';
const SECRET = 'CRN_deploy_test_secret';
const ADMIN = 'deploy-test-admin';

let sim: CronofySimulator;
let mongo: MongoClient;
const children: Child[] = [];

beforeAll(async () => {
  sim = await CronofySimulator.start({ clientId: CLIENT_ID, clientSecrets: [SECRET] });
  mongo = await MongoClient.connect(testMongoUri());
});
afterAll(async () => {
  for (const c of children) c.kill();
  await sim?.stop();
  await mongo?.close();
});

async function serviceEnv(db: string) {
  const port = await freePort();
  const env = cleanEnv({
    LOCAL_MODE: '1', // all on loopback
    CRONOFY_CLIENT_ID: CLIENT_ID,
    CRONOFY_CLIENT_SECRET: SECRET,
    CRONOFY_API_URL: sim.url,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_TOKEN: ADMIN,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_TASK_QUEUE: uniqueName('tq-deploy'),
    MONGODB_URI: testMongoUri(),
    MONGODB_DB: db,
    LOG_LEVEL: 'info',
    DEBOUNCE_QUIET: '200ms',
    DEBOUNCE_MAX: '1s',
  });
  return { env, url: `http://127.0.0.1:${port}` };
}

function launch(command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = start(command, args, { env });
  children.push(child);
  return child;
}

async function register(url: string, accountId: string): Promise<void> {
  const account = sim.createAccount({ accountId, calendarIds: ['cal_1'] });
  const res = await fetch(`${url}/accounts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ accountId, accessToken: account.accessToken, refreshToken: account.refreshToken }),
  });
  expect(res.status).toBe(201);
}

/** Makes an event change in the simulator (which pushes it) and waits for it in MongoDB. */
async function changeReachesMongo(db: string, accountId: string, summary: string): Promise<void> {
  const startsAt = new Date(Date.now() + 2 * 86_400_000);
  const event = sim.upsertEvent(accountId, {
    calendar_id: 'cal_1',
    summary,
    start: startsAt,
    end: new Date(startsAt.getTime() + 3_600_000),
  });
  await eventually(
    () => mongo.db(db).collection('events').findOne({ accountId, eventUid: event.event_uid }),
    30_000,
    'event in MongoDB',
  );
}

async function ready(child: Child, url: string): Promise<void> {
  await child.waitFor(/"msg":"worker running"/, 90_000);
  await eventually(async () => (await fetch(`${url}/readyz`)).ok, 20_000, '/readyz');
}

describe('invalid configuration', () => {
  it('stops `tsx src/main.ts` at once with exit code 78, naming the variable', async () => {
    const child = launch(tsxBin, ['src/main.ts', 'api'], cleanEnv());
    const exit = await child.exitWithin(30_000);
    expect(exit.code).toBe(78);
    expect(child.output()).toContain('cronofy-sync: invalid configuration: CRONOFY_CLIENT_ID');
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM to `tsx src/main.ts all` during a sync: the sync finishes, exit code 0', async () => {
    const db = uniqueName('db-shutdown');
    const { env, url } = await serviceEnv(db);
    const child = launch(tsxBin, ['src/main.ts', 'all'], env);
    await ready(child, url);

    // The initial full sync's Read Events call takes 6 s: SIGTERM arrives while it runs.
    sim.injectFault({ method: 'GET', path: '/v1/events', delayMs: 6_000, times: 1 });
    const accountId = uniqueName('acc');
    await register(url, accountId);
    const runs = mongo.db(db).collection('sync_runs');
    await eventually(
      () => runs.findOne({ accountId, kind: 'full', outcome: 'running' }),
      30_000,
      'sync running',
    );
    const signalledAt = Date.now();
    child.proc.kill('SIGTERM');

    const exit = await child.exitWithin(35_000);
    // Exit code 0: drained in time (main.ts gives up with exit 1 after 30 s).
    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.output()).toContain('shutting down');
    // The worker drained: the sync that was running when the signal came completed.
    const run = await runs.findOne({ accountId, kind: 'full' });
    expect(run?.outcome).toBe('succeeded');
    expect(run?.startedAt.getTime()).toBeLessThan(signalledAt);
    expect(run?.finishedAt.getTime()).toBeGreaterThan(signalledAt);
    await mongo.db(db).dropDatabase();
  }, 150_000);
});

/** Sums the samples of `name` in a Prometheus text body whose labels contain every `labels` pair. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of body.split('\n')) {
    const m = line.match(/^([a-z_:]+)(\{[^}]*\})? ([0-9.e+-]+|NaN)$/i);
    if (!m || m[1] !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) continue;
    found = true;
    sum += Number(m[3]);
  }
  return found ? sum : Number.NaN;
}

describe('api and worker as separate processes (docker-compose roles)', () => {
  it('the worker serves its own metrics on METRICS_PORT and the SDK’s on TEMPORAL_METRICS_PORT', async () => {
    const db = uniqueName('db-roles');
    const { env, url } = await serviceEnv(db);
    const metricsPort = await freePort();
    const sdkMetricsPort = await freePort();
    const api = launch(tsxBin, ['src/main.ts', 'api'], env);
    const worker = launch(tsxBin, ['src/main.ts', 'worker'], {
      ...env,
      METRICS_PORT: String(metricsPort),
      TEMPORAL_METRICS_PORT: String(sdkMetricsPort),
    });
    await worker.waitFor(/"msg":"worker metrics served"/, 90_000);
    await eventually(async () => (await fetch(`${url}/readyz`)).ok, 60_000, 'api /readyz');
    const workerMetrics = async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };

    const accountId = uniqueName('acc');
    await register(url, accountId);
    await eventually(async () => sim.channels(accountId).length === 1, 30_000, 'channel');
    await eventually(
      () => mongo.db(db).collection('sync_runs').findOne({ accountId, kind: 'full', outcome: 'succeeded' }),
      30_000,
      'initial full sync',
    );
    // A change in "Cronofy": the simulator pushes it to the API, the worker syncs it.
    await changeReachesMongo(db, accountId, 'metrics');
    const body = await eventually(
      async () => {
        const b = await workerMetrics();
        // Counters appear once their first sample is recorded (NaN until then).
        return sample(b, 'cronofy_notification_freshness_seconds_count') >= 1 &&
          sample(b, 'cronofy_syncs_total', { kind: 'incremental', outcome: 'succeeded' }) >= 1
          ? b
          : null;
      },
      20_000,
      'incremental sync and freshness observed',
    );
    expect(
      sample(body, 'cronofy_syncs_total', { kind: 'full', outcome: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(body, 'cronofy_syncs_total', { kind: 'incremental', outcome: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(body, 'cronofy_events_written_total', { op: 'upserted' })).toBeGreaterThanOrEqual(1);
    expect(
      sample(body, 'cronofy_api_calls_total', { path: '/v1/events', status: '200' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(body, 'cronofy_api_calls_total', { path: '/v1/channels' })).toBeGreaterThanOrEqual(1);
    expect(sample(body, 'cronofy_sync_duration_seconds_count', { kind: 'full' })).toBeGreaterThanOrEqual(1);
    // Receiver metrics live in the API process, not the worker's.
    expect(Number.isNaN(sample(body, 'cronofy_notifications_total'))).toBe(true);
    const apiMetrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      sample(apiMetrics, 'cronofy_notifications_total', { status: '202', type: 'change' }),
    ).toBeGreaterThanOrEqual(1);
    // The Temporal SDK's own metrics (Core's Prometheus exporter) from the worker.
    const sdk = await (await fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`)).text();
    expect(sdk).toMatch(/^temporal_[a-z_]+/m);
    // In Prometheus's conventions (src/runtime.ts, sdkPrometheusOptions): durations in seconds,
    // named so; counters end in _total. The dashboard and alerts use these names.
    expect(sdk).toContain('temporal_workflow_task_execution_latency_seconds_bucket');
    expect(sdk).toContain('temporal_workflow_task_schedule_to_start_latency_seconds_bucket');
    expect(sdk).toContain('temporal_activity_schedule_to_start_latency_seconds_bucket');
    expect(sdk).toMatch(/^temporal_request_total\{/m);
    for (const type of sdk.matchAll(/^# TYPE (temporal_\S+) (counter|histogram)$/gm)) {
      if (type[2] === 'counter') expect(type[1], 'counter').toMatch(/_total$/);
      else expect(type[1], 'histogram').toMatch(/_seconds$/);
    }
    // A millisecond histogram would have no bucket below 1 (its first is 1 ms); in seconds it has.
    const les = [...sdk.matchAll(/^temporal_request_latency_seconds_bucket\{.*le="([0-9.e+-]+)"/gm)].map(
      (m) => Number(m[1]),
    );
    expect(les.some((le) => le > 0 && le < 1)).toBe(true);
    // The accounts gauge, counted from MongoDB by the worker: the one registered account is active.
    expect(sample(body, 'cronofy_accounts', { state: 'active' })).toBe(1);
    expect(sample(body, 'cronofy_accounts', { state: 'disconnected' })).toBe(0);

    api.proc.kill('SIGTERM');
    worker.proc.kill('SIGTERM');
    expect(await api.exitWithin(35_000)).toEqual({ code: 0, signal: null });
    expect(await worker.exitWithin(35_000)).toEqual({ code: 0, signal: null });
    await mongo.db(db).dropDatabase();
  }, 240_000);
});

describe('the compiled image entry point', () => {
  const outDir = path.join(repoRoot, 'test-artifacts', uniqueName('dist'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('`npm run build` steps build a dist/ that runs both roles on its prebuilt bundle and stops cleanly', async () => {
    // The steps of `npm run build` (package.json; only the output directory differs), inside the
    // repository so that node_modules and "type": "module" apply as they do to dist/.
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toMatch(/tsc -p tsconfig\.build\.json && .*node dist\/bundle-workflows\.js$/);
    await promisify(execFile)(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        outDir,
      ],
      {
        cwd: repoRoot,
      },
    );
    const bundled = await promisify(execFile)(process.execPath, [path.join(outDir, 'bundle-workflows.js')], {
      cwd: repoRoot,
    });
    const bundlePath = path.join(outDir, 'workflow-bundle.js');
    expect(bundled.stdout).toContain(bundlePath);
    expect(statSync(bundlePath).size).toBeGreaterThan(100_000);
    const main = path.join(outDir, 'main.js');
    const healthcheck = (role: string, env: NodeJS.ProcessEnv) =>
      promisify(execFile)(process.execPath, [path.join(outDir, 'healthcheck.js'), role], {
        cwd: repoRoot,
        env,
      }).then(
        () => 0,
        (err: { code?: number }) => err.code ?? -1,
      );

    const bad = launch(process.execPath, [main, 'worker'], cleanEnv());
    expect((await bad.exitWithin(30_000)).code).toBe(78);
    expect(bad.output()).toContain('invalid configuration: CRONOFY_CLIENT_ID');

    const db = uniqueName('db-dist');
    const { env, url } = await serviceEnv(db);
    // Unhealthy before it listens, healthy once it does.
    expect(await healthcheck('api', env)).toBe(1);
    const child = launch(process.execPath, [main, 'all'], env);
    await ready(child, url);
    // The worker loaded the bundle the build wrote, rather than running webpack.
    expect(child.output()).toContain('"msg":"using the prebuilt workflow bundle"');
    expect(child.output()).toContain(bundlePath);
    expect(child.output()).not.toContain('bundling the workflow code');
    expect(await healthcheck('all', env)).toBe(0);
    const accountId = uniqueName('acc');
    await register(url, accountId);
    await eventually(async () => sim.channels(accountId).length === 1, 20_000, 'channel');
    await changeReachesMongo(db, accountId, 'from dist');
    child.proc.kill('SIGTERM');
    expect(await child.exitWithin(35_000)).toEqual({ code: 0, signal: null });
    await mongo.db(db).dropDatabase();
  }, 300_000);
});
