/**
 * Idle cost: Cronofy calls and Temporal actions per idle account per simulated week, against
 * 5-minute polling (2,016 calls a week). Goal: ≤ 20 calls per idle account-week.
 *
 * The account workflow runs on the time-skipping test server (a week passes in seconds) with the
 * REAL activities (createActivities: MongoDB-protocol server, the Cronofy client, the rate
 * limiter) against the Cronofy simulator, and the real receiver (`buildServer`) taking the
 * simulator's pushes (the channel's `verification`). The simulator's clock follows the test
 * server's (each activity moves it to the attempt's scheduled time), so access tokens expire after
 * an hour of simulated time as Cronofy's do, and the sync window moves. Every Cronofy request is
 * counted in the simulator's log; Temporal actions come from each workflow's history.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { freePort, startMongo, TEST_SERVER_VERSION, timeSkippingServerPath } from '../scripts/lib/servers.js';
import { createActivities } from '../src/activities/index.js';
import { buildServer } from '../src/api/server.js';
import { RateLimiter } from '../src/budget/rate-limiter.js';
import { DEFAULT_TIMINGS, loadConfig, parseEncryptionKeys } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { CronofySimulator } from '../src/simulator/index.js';
import { AccountsRepo } from '../src/store/accounts-repo.js';
import { CalendarsRepo } from '../src/store/calendars-repo.js';
import { collections, ensureIndexes } from '../src/store/db.js';
import { EventsRepo } from '../src/store/events-repo.js';
import { SyncRunsRepo } from '../src/store/sync-runs-repo.js';
import { TokenCrypto } from '../src/store/token-crypto.js';
import { AccountWorkflows } from '../src/temporal/account-workflows.js';
import { bundleWorkflows } from '../src/worker.js';
import type { AccountSyncInput } from '../src/workflows/input.js';
import { workflowIdFor } from '../src/workflows/messages.js';
import { type BenchContext, type BenchModule, type BenchResult, envNumber } from './lib/module.js';
import { BENCH_CLIENT_ID, BENCH_SECRET } from './lib/stack.js';
import { runIfMain } from './lib/standalone.js';
import { fmt, mark } from './lib/stats.js';
import { loadSampler } from './lib/sys.js';

const num = envNumber;

const WEEK = 7 * 86_400_000;
const GOAL_CALLS = 20;
const POLL_CALLS_PER_WEEK = (7 * 24 * 60) / 5;

const EventType = proto.temporal.api.enums.v1.EventType;

/** Which Cronofy call a simulator request was. */
function callKind(r: { method: string; path: string; query: string; status: number | 'dropped' }): string {
  if (r.status === 401) return '401 (expired token)';
  if (r.path === '/oauth/token') return 'token refresh';
  if (r.path.startsWith('/v1/events/pages/')) return 'Read Events next_page';
  if (r.path === '/v1/events') {
    if (r.query.includes('last_modified=')) return 'Read Events (incremental / catch-up)';
    const from = /from=(\d{4}-\d{2}-\d{2})/.exec(r.query)?.[1];
    const to = /to=(\d{4}-\d{2}-\d{2})/.exec(r.query)?.[1];
    const days = from && to ? (Date.parse(to) - Date.parse(from)) / 86_400_000 : 0;
    return days <= 8 ? 'Read Events (window edge)' : 'Read Events (full)';
  }
  if (r.path === '/v1/channels' && r.method === 'GET') return 'List Channels (check / ensure)';
  if (r.path === '/v1/channels' && r.method === 'POST') return 'Create Channel';
  return `${r.method} ${r.path}`;
}

export const idleCostBench: BenchModule = {
  id: 'idle-cost',
  title: 'Idle cost: Cronofy calls and Temporal actions per idle account-week',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const accounts = num('BENCH_IDLE_ACCOUNTS', 10);
    const weeks = num('BENCH_IDLE_WEEKS', 4);
    const load = loadSampler();
    if (!Runtime._instance) {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    }
    ctx.log('idle-cost: starting the MongoDB-protocol server, the time-skipping test server, the simulator');
    const mongoServer = await startMongo();
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } },
    });
    // The simulator's clock: the test server's time as of the latest activity, plus real time since.
    let simBase = Date.now();
    let simSetAt = performance.now();
    const simNow = () => simBase + (performance.now() - simSetAt);
    const sim = await CronofySimulator.start({
      clientId: BENCH_CLIENT_ID,
      clientSecrets: [BENCH_SECRET],
      rateLimit: false,
      now: () => new Date(simNow()),
    });
    const mongo = new MongoClient(mongoServer.uri);
    const receiverPort = await freePort();
    const publicUrl = `http://127.0.0.1:${receiverPort}`;
    const taskQueue = `idle-${randomUUID()}`;
    let app: Awaited<ReturnType<typeof buildServer>> | undefined;
    let worker: Worker | undefined;
    try {
      await mongo.connect();
      const db = mongo.db('idle_cost');
      await ensureIndexes(db);
      const c = collections(db);
      const keys = parseEncryptionKeys(Buffer.alloc(32, 3).toString('base64'));
      const accountsRepo = new AccountsRepo(c.accounts, new TokenCrypto(keys));
      const real = createActivities({
        // The workflows run on the same timings and callback URL they were started with.
        settings: { timings: DEFAULT_TIMINGS, publicUrl },
        accounts: accountsRepo,
        events: new EventsRepo(c.events),
        calendars: new CalendarsRepo(c.calendars),
        syncRuns: new SyncRunsRepo(c.syncRuns),
        cronofy: {
          clientId: BENCH_CLIENT_ID,
          clientSecret: BENCH_SECRET,
          apiUrlOverride: sim.url,
          requestTimeoutMs: 30_000,
        },
        limiter: new RateLimiter({ perSecond: 50, perMinute: 500 }),
        now: () => new Date(simNow()),
      });
      // Each activity first moves the simulator's clock to the test server's time.
      const activities = Object.fromEntries(
        Object.entries(real).map(([name, fn]) => [
          name,
          async (...args: unknown[]) => {
            const scheduled = Context.current().info.currentAttemptScheduledTimestampMs;
            if (scheduled > simBase) {
              simBase = scheduled;
              simSetAt = performance.now();
            }
            return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          },
        ]),
      ) as typeof real;

      // The real receiver, so the channel's verification push reaches the workflow as in production.
      const config = loadConfig({
        LOCAL_MODE: '1', // all on loopback
        CRONOFY_CLIENT_ID: BENCH_CLIENT_ID,
        CRONOFY_CLIENT_SECRET: BENCH_SECRET,
        CRONOFY_API_URL: sim.url,
        TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
        HOST: '127.0.0.1',
        PORT: String(receiverPort),
        PUBLIC_URL: publicUrl,
        TEMPORAL_TASK_QUEUE: taskQueue,
        LOG_LEVEL: 'warn',
      });
      const workflows = new AccountWorkflows({
        client: env.client,
        taskQueue,
        timings: DEFAULT_TIMINGS,
        publicUrl,
        searchAttributes: false,
      });
      app = await buildServer({
        config,
        metrics: createMetrics(),
        workflows,
        readiness: { temporal: async () => true, mongo: async () => true },
        logger: createLogger('warn', pino.destination({ dest: '/dev/null', sync: false })),
      });
      await app.listen({ host: '127.0.0.1', port: receiverPort });

      worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await bundleWorkflows(),
        activities,
      });
      const w = worker;
      const ids = Array.from({ length: accounts }, (_, i) => `idle-${i}`);
      const result = await w.runUntil(async () => {
        for (const id of ids) {
          const a = sim.createAccount({ accountId: id });
          // A calendar with a few events across the window, as idle users have.
          for (let k = 0; k < 20; k++) {
            const start = simNow() + (k * 12 - 40) * 86_400_000;
            sim.upsertEvent(
              id,
              {
                calendar_id: a.calendarIds[0]!,
                summary: `event ${k}`,
                start: new Date(start),
                end: new Date(start + 3_600_000),
              },
              { notify: false },
            );
          }
          await accountsRepo.register({
            accountId: id,
            accessToken: a.accessToken,
            refreshToken: a.refreshToken,
            dataCenter: 'us',
            calendarIds: null,
          });
          await env.client.workflow.start('accountSync', {
            taskQueue,
            workflowId: workflowIdFor(id),
            args: [
              {
                accountId: id,
                timings: DEFAULT_TIMINGS,
                callbackUrl: workflows.callbackUrlFor(id),
                testing: { searchAttributes: false },
              } satisfies AccountSyncInput,
            ],
          });
        }
        ctx.log('idle-cost: registration (channel + initial full sync)');
        await env.sleep(5_000);
        await sim.settled();
        await env.sleep(5_000);
        const registrationCalls = sim.requests.length;
        const measureFrom = await env.currentTimeMs();
        const perWeek: number[] = [];
        for (let k = 0; k < weeks; k++) {
          const before = sim.requests.length;
          ctx.log(`idle-cost: simulated week ${k + 1}/${weeks}`);
          await env.sleep(WEEK);
          perWeek.push((sim.requests.length - before) / accounts);
        }
        const measureTo = await env.currentTimeMs();
        const measured = sim.requests.slice(registrationCalls);
        const byKind = new Map<string, number>();
        for (const r of measured) byKind.set(callKind(r), (byKind.get(callKind(r)) ?? 0) + 1);
        const statuses = new Map<string, number>();
        for (const r of measured) statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1);

        // Temporal: history events of every workflow inside the measured span.
        const events = new Map<string, number>();
        let historyLength = 0;
        let continuedAsNew = 0;
        for (const id of ids) {
          const h = env.client.workflow.getHandle(workflowIdFor(id));
          const desc = await h.describe();
          historyLength += desc.historyLength;
          const history = await h.fetchHistory();
          for (const e of history.events ?? []) {
            const at = Number(e.eventTime?.seconds ?? 0) * 1000;
            if (at < measureFrom || at > measureTo) continue;
            const name = EventType[e.eventType ?? 0] ?? String(e.eventType);
            events.set(name, (events.get(name) ?? 0) + 1);
            if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) continuedAsNew++;
          }
        }
        for (const id of ids) await env.client.workflow.getHandle(workflowIdFor(id)).terminate('bench done');
        return {
          registrationCalls,
          measured,
          byKind,
          statuses,
          events,
          historyLength,
          continuedAsNew,
          perWeek,
        };
      });
      const loadNote = load.stop();

      const accountWeeks = accounts * weeks;
      const callsPerWeek = result.measured.length / accountWeeks;
      const ev = (name: string) => (result.events.get(`EVENT_TYPE_${name}`) ?? 0) / accountWeeks;
      const timers = ev('TIMER_STARTED');
      const scheduled = ev('ACTIVITY_TASK_SCHEDULED');
      const signals = ev('WORKFLOW_EXECUTION_SIGNALED');
      const upserts = ev('UPSERT_WORKFLOW_SEARCH_ATTRIBUTES');
      const markers = ev('MARKER_RECORDED');
      const wfTasks = ev('WORKFLOW_TASK_COMPLETED');
      const totalEvents = [...result.events.values()].reduce((s, v) => s + v, 0) / accountWeeks;
      const syncsPerWeek =
        ((result.byKind.get('Read Events (full)') ?? 0) +
          (result.byKind.get('Read Events (window edge)') ?? 0)) /
        accountWeeks;
      const actions = timers + scheduled + signals + upserts + markers;
      // In production the workflow also upserts CronofyLastSyncAt after every successful sync.
      const actionsProd = actions + syncsPerWeek;
      const met = callsPerWeek <= GOAL_CALLS;
      const byKindRows = [...result.byKind.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `| ${k} | ${fmt(n / accountWeeks, 2)} |`);
      const unauthorized = (result.byKind.get('401 (expired token)') ?? 0) / accountWeeks;
      const checks = (result.byKind.get('List Channels (check / ensure)') ?? 0) / accountWeeks;
      const wakeups = syncsPerWeek + checks;
      const refreshOverhead =
        ((result.byKind.get('401 (expired token)') ?? 0) + (result.byKind.get('token refresh') ?? 0)) /
        accountWeeks;
      const lines = [
        `Command: \`${ctx.command}\`, run ${ctx.date} on ${ctx.machine}; ${loadNote}.`,
        '',
        `Temporal time-skipping test server ${TEST_SERVER_VERSION}; the account workflow with the real activities ` +
          `(MongoDB-protocol server: ${mongoServer.kind}) against the Cronofy simulator, whose clock follows the test server's ` +
          `(access tokens expire after 1 simulated hour, as Cronofy's do); the real receiver takes the channel's verification push. ` +
          `${accounts} idle accounts (20 events each, no changes), default timings (full sync and window-edge sync weekly with ` +
          `per-account jitter, channel check after 24 h without a notification), measured over ${weeks} simulated weeks after ` +
          `registration (registration itself: ${fmt(result.registrationCalls / accounts, 1)} calls per account).`,
        '',
        '| Cronofy call | per idle account-week |',
        '|---|---|',
        ...byKindRows,
        `| **total** | **${fmt(callsPerWeek, 2)}** |`,
        '',
        `Per week, per account: ${result.perWeek.map((v) => fmt(v, 2)).join(', ')}.`,
        '',
        `**${fmt(callsPerWeek, 2)} Cronofy calls per idle account-week** (goal ≤ ${GOAL_CALLS}: ${mark(met)}) against ` +
          `${POLL_CALLS_PER_WEEK.toLocaleString('en-US')} for 5-minute polling (${fmt(POLL_CALLS_PER_WEEK / callsPerWeek, 0)}× fewer; ` +
          'polling would also pay a token refresh every hour: +168 refreshes, +168 401s when refreshing on 401).',
        '',
        refreshOverhead > 0 && unauthorized > refreshOverhead / 4
          ? `Why: **${fmt(refreshOverhead, 2)} of them are token overhead.** Every wake-up of an idle account (${fmt(wakeups, 2)} a week: ` +
            `the full sync, the window-edge sync, ${fmt(checks, 2)} channel checks) comes more than an hour after its previous call, ` +
            'so the stored access token has expired; the client sends the call anyway, gets 401, refreshes, and sends it again: ' +
            `3 requests per wake-up. Refreshing first when the stored \`accessTokenExpiresAt\` has passed would make it 2 ` +
            `(**${fmt(callsPerWeek - unauthorized, 2)} calls a week**); without the token round trips the account costs ` +
            `${fmt(callsPerWeek - refreshOverhead, 2)}.`
          : `Where they go: every wake-up of an idle account (${fmt(wakeups, 2)} a week: the full sync, the window-edge sync, ` +
            `${fmt(checks, 2)} channel checks) comes more than an hour after its previous call, so its access token has expired; ` +
            'the service refreshes first (the expiry is recorded at each refresh), so a wake-up costs 2 requests, and ' +
            `${fmt(unauthorized, 2)} a week still meet a 401 (an expiry not yet known, as right after registration). ` +
            `Without any token round trips the account would cost ${fmt(callsPerWeek - refreshOverhead, 2)}.`,
        ' The daily channel check (List Channels after 24 h without a notification) is the largest item after that: the ' +
          'periodic syncs could count as a sign of life only if they also listed channels, so CHANNEL_CHECK_INTERVAL is the knob.',
        '',
        'Temporal, per idle account-week (history events of the measured weeks):',
        '',
        '| timers started | activities scheduled | signals | search-attribute upserts | markers | workflow tasks | history events | actions* |',
        '|---|---|---|---|---|---|---|---|',
        `| ${fmt(timers, 2)} | ${fmt(scheduled, 2)} | ${fmt(signals, 2)} | ${fmt(upserts, 2)} | ${fmt(markers, 2)} | ${fmt(wfTasks, 2)} | ${fmt(totalEvents, 1)} | ${fmt(actions, 2)} |`,
        '',
        `\\*Actions as Temporal Cloud bills them (timers + activities + signals + upserts + markers). The bench runs with ` +
          `search attributes off (the test server has none registered); in production the workflow also upserts \`CronofyLastSyncAt\` ` +
          `after each sync: ≈ ${fmt(actionsProd, 1)} actions per idle account-week, against ≈ ${(2 * POLL_CALLS_PER_WEEK).toLocaleString('en-US')} ` +
          `(a timer and an activity every 5 minutes) for a polling workflow. History grows by ${fmt(totalEvents, 0)} events a week, so ` +
          `an idle account continues-as-new (at ~4,096 events) about every ${fmt(4096 / Math.max(1, totalEvents), 0)} weeks ` +
          `(${result.continuedAsNew} times in this run).`,
        '',
        'Knobs: `BENCH_IDLE_ACCOUNTS`, `BENCH_IDLE_WEEKS`.',
      ];
      return {
        markdown: lines.join('\n'),
        goalsMet: met,
        summary: `${fmt(callsPerWeek, 2)} Cronofy calls per idle account-week (goal ≤ ${GOAL_CALLS}; polling ${POLL_CALLS_PER_WEEK}), ${fmt(actions, 1)} Temporal actions`,
      };
    } finally {
      await app?.close().catch(() => undefined);
      await sim.stop().catch(() => undefined);
      await mongo.close().catch(() => undefined);
      await env.teardown().catch(() => undefined);
      await mongoServer.stop().catch(() => undefined);
    }
  },
};

await runIfMain(idleCostBench, import.meta.url);
