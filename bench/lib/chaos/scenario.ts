/**
 * The chaos-convergence scenario, shared by `test/chaos/chaos.test.ts` (small, fixed seed) and
 * `bench/chaos.ts` (large, random seed). Free of vitest: the caller hands in the Temporal and
 * MongoDB-protocol servers it owns (stoppable and restartable, state kept) and gets a report back.
 *
 * The whole service runs for real, as two child processes (./service.ts): the API (receiver +
 * admin, `src/main.ts api`) and the worker, so that they can be stopped and killed; the Cronofy
 * simulator runs in this process and is the truth. A seeded
 * stream of creates, updates, moves, deletes and restores runs across the accounts, with moves
 * across the window's edges (from inside to past +201 d or before -42 d, and back in) and calendar
 * filter changes (the account registered again with a calendar added to or removed from its
 * `calendarIds`; each account has three calendars, two registered at first), while a fixed
 * timeline of faults plays out:
 *
 *   1. Cronofy faults: 5xx, 429 with `Retry-After`, dropped connections, slow answers (some slower
 *      than the client's request timeout);
 *   2. expired access tokens (and a 500 from the token endpoint on the first refresh);
 *   3. the worker SIGKILLed while a sync activity is running (a slow Read Events holds it there),
 *      then a new worker started;
 *   4. the MongoDB-protocol server stopped and started again (data kept);
 *   5. the Temporal server stopped and started again (state kept);
 *   6. the receiver down for longer than the simulator's delivery retry window, after a change on
 *      every account, so the simulator closes those channels silently;
 *   7. another round of Cronofy faults and token expiries.
 *
 * Then operations and faults stop, and the scenario waits for the service to converge BY ITSELF
 * (notifications, activity retries, channel checks, catch-up syncs; no manual sync) and compares
 * `events` with the simulator's truth for every account: missing, stale, phantom. The truth is the
 * events of the calendars each account is registered with at the end, wherever they are now (an
 * event moved out of the window is expected at its new times: every read asks for include_moved).
 *
 * Last, a full sync is forced on every account (`POST /accounts/:id/sync?wait=true`) and its
 * `sync_runs.drift` summed: after convergence it should have nothing to correct. The only
 * correction expected is counted apart: the live copies of a calendar taken out of the filter,
 * which nothing but a full sync tombstones.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { type Db, MongoClient, type ObjectId } from 'mongodb';
import { compareWithTruth, type Divergence } from '../../../scripts/lib/convergence.js';
import { freePort, probeMongo, probeTemporal } from '../../../scripts/lib/servers.js';
import { eventually, sleep } from '../../../scripts/lib/wait.js';
import { type Config, loadConfig } from '../../../src/config.js';
import { CronofySimulator, type SimFaultHandle } from '../../../src/simulator/index.js';
import type { DriftCounts } from '../../../src/store/events-repo.js';
import { bundleWorkflows } from '../../../src/worker.js';
import { type AccountStatus, workflowIdFor } from '../../../src/workflows/messages.js';
import { type CopyComparison, followFeed } from '../downstream-copy.js';
import { startSubscriber } from '../webhook-subscriber.js';
import { compareManyWithTruth } from './compare.js';
import { mulberry32, type Rng } from './prng.js';
import { type ProcessExit, ServiceProcess } from './service.js';

const CLIENT_ID = 'chaos-client';
const SECRET = 'CRN_chaos_secret_0123456789abcdefgh';
const ADMIN_TOKEN = 'chaos-admin-token';
const DAY = 86_400_000;
const MINUTE = 60_000;

/** A server the scenario may stop and start again (its data survives). */
export interface RestartableServer {
  stop(): Promise<unknown>;
  start(): Promise<unknown>;
}

export interface ChaosServers {
  temporal: RestartableServer & { address: string };
  mongo: RestartableServer & { uri: string };
}

export interface ChaosOptions {
  seed: number;
  accounts: number;
  /** Events each account has before it is registered (read by the initial full sync). */
  initialEventsPerAccount: number;
  /** Time between two operations while the chaos runs. */
  opIntervalMs: number;
  /** How many times the fault timeline plays. Default 1. */
  rounds?: number;
  /** Service CHANNEL_CHECK_INTERVAL. Default `3s`. */
  channelCheckInterval?: string;
  /** The simulator's per-application limit; the service's own limiter is set a little below it. */
  rateLimit?: { perSecond: number; perMinute: number };
  /** Simulator: a push failing this long closes its channel. Default 6000. */
  channelRetryWindowMs?: number;
  /** After faults stop, how long convergence may take before the run counts as not converged. */
  settleTimeoutMs: number;
  /** Progress lines. */
  log(message: string): void;
  /** Keeps the API's and the workers' logs there (LOG_LEVEL from `logLevel`, default `warn`). */
  logDir?: string;
  logLevel?: string;
  /** While settling, log what each lagging account's workflow is doing. */
  diagnose?: boolean;
}

export type OpKind =
  | 'create'
  | 'update'
  | 'move'
  | 'delete'
  | 'restore'
  /** An event moved from inside the window to past +201 d or before -42 d. */
  | 'move_out'
  /** An event outside the window moved back inside. */
  | 'move_in'
  /** The account registered again (`POST /accounts`) with one more calendar in `calendarIds`. */
  | 'add_calendar'
  /** ... or with one fewer. */
  | 'remove_calendar';

export interface KilledRun {
  accountId: string;
  syncRunId: string;
  kind: string;
  /** What became of the sync_runs document: `running` (abandoned) or `succeeded` (resumed). */
  outcome: string;
  attempts: number;
  /** The account had a successful sync that started after the kill. */
  syncedAfterKill: boolean;
}

/** The full sync forced on every account after convergence. */
export interface FinalFullSync {
  /** Accounts whose full sync succeeded. */
  accounts: number;
  /** Summed `sync_runs.drift` of those syncs. */
  drift: DriftCounts;
  /** Accounts whose full sync recorded no drift (`null`: it was the account's first full sync). */
  withoutDrift: string[];
  /** What those syncs wrote (their `SyncResult`), drift or not. */
  writes: { upserted: number; deleted: number };
  /** Live copies of events of calendars an account is no longer registered with, before and after. */
  unregisteredBefore: number;
  unregisteredAfter: number;
  /** The comparison again, after the full syncs. */
  divergenceAfter: { missing: number; stale: number; phantom: number };
  failures: string[];
  durationMs: number;
}

export interface ChaosReport {
  seed: number;
  accounts: number;
  /** Events in the simulator at the end, tombstones included. */
  events: number;
  operations: Record<OpKind, number> & { total: number };
  faults: {
    cronofy5xx: number;
    rateLimited429WithRetryAfter: number;
    rateLimited429Natural: number;
    dropped: number;
    slow: number;
    tokenExpiries: number;
    tokenRefreshes: number;
    workerKills: number;
    killedMidSync: number;
    temporalRestarts: number;
    temporalDownMs: number;
    receiver503s: number;
    mongoRestarts: number;
    mongoDownMs: number;
    receiverOutages: number;
    receiverDownMs: number;
    failedDeliveries: number;
    channelsClosed: number;
    channelsRecreated: number;
    catchUpSyncs: number;
  };
  killedRuns: KilledRun[];
  chaosMs: number;
  /** From the end of the faults to the first moment every account matched; null if it never did. */
  convergeMs: number | null;
  divergence: { missing: number; stale: number; phantom: number };
  /**
   * A consumer that followed every account's change feed over HTTP through the whole run, compared
   * with `events` at the end (after the final full sync); `pendingMarks`: writes not yet in the feed.
   */
  downstream: {
    feed: CopyComparison & { changes: number; outOfOrder: number; pages: number; pendingMarks: number };
    /** A webhook subscribed to every account, its receiver verifying every signature. */
    webhook: CopyComparison & {
      changes: number;
      outOfOrder: number;
      messages: number;
      badSignatures: number;
      refused: number;
    };
  };
  /** At the end, before the final full sync: what the world looks like, for the comparison's scope. */
  world: {
    /** Live events (of registered calendars) now outside the sync window: expected at their new times. */
    liveOutsideWindow: number;
    /** Events Cronofy has in calendars an account is not registered with (live or deleted): not expected. */
    inUnregisteredCalendars: number;
    /** Accounts whose filter at the end is not the one they were registered with first. */
    filterChanged: number;
    /** Documents (tombstones too) of calendars the account was never registered with: should be 0. */
    neverRegisteredStored: number;
  };
  /** Re-authorizations for the re-registrations (token exchanges; not counted as refreshes). */
  reauthorizations: number;
  finalFullSync: FinalFullSync;
  /** Accounts that did not match at the end, with what the workflow said about itself. */
  unconverged: Record<string, Divergence & { status?: unknown; lastSyncRuns?: unknown; diagnosis?: string }>;
  /** Workflow states at the end (`active`: n, ...). */
  states: Record<string, number>;
  /** Accounts that do not end with exactly one open channel. */
  channelProblems: string[];
  /** How the service's processes ended during the run (the final shutdown not included). */
  exits: { api: ProcessExit[]; worker: ProcessExit[] };
  timeline: { atMs: number; what: string }[];
}

const cronofyTime = (ms: number) =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const cronofyDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function isDown(probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return false;
  } catch {
    return true;
  }
}

/** A re-registration the operations asked for: the account's new calendar filter. */
export interface FilterChange {
  accountId: string;
  kind: 'add_calendar' | 'remove_calendar';
  calendarId: string;
  calendarIds: string[];
}

/**
 * The seeded world: which events each account has (and whether each is now outside the sync
 * window), and which of its calendars are registered, so operations pick real targets.
 */
class World {
  readonly ops: Record<OpKind, number> = {
    create: 0,
    update: 0,
    move: 0,
    delete: 0,
    restore: 0,
    move_out: 0,
    move_in: 0,
    add_calendar: 0,
    remove_calendar: 0,
  };
  readonly #events = new Map<
    string,
    Map<string, { calendarId: string; deleted: boolean; outside: boolean }>
  >();
  readonly #calendars = new Map<string, string[]>();
  readonly #registered = new Map<string, string[]>();
  readonly #everRegistered = new Map<string, Set<string>>();
  /** Accounts with a re-registration under way: one at a time per account. */
  readonly #reregistering = new Set<string>();
  #counter = 0;

  constructor(
    private readonly sim: CronofySimulator,
    private readonly today: number,
  ) {}

  addAccount(accountId: string, calendars: string[], registered: string[]): void {
    this.#events.set(accountId, new Map());
    this.#calendars.set(accountId, calendars);
    this.#registered.set(accountId, registered);
    this.#everRegistered.set(accountId, new Set(registered));
  }

  /** Every calendar the account has been registered with at some point. */
  everRegistered(accountId: string): ReadonlySet<string> {
    return this.#everRegistered.get(accountId)!;
  }

  /** The calendars the account is registered with now (its truth for the comparison). */
  registered(accountId: string): string[] {
    return this.#registered.get(accountId)!;
  }

  /** The service took the new filter (its `POST /accounts` answered 200). */
  filterChanged(change: FilterChange): void {
    this.#registered.set(change.accountId, change.calendarIds);
    for (const c of change.calendarIds) this.#everRegistered.get(change.accountId)!.add(c);
    this.#reregistering.delete(change.accountId);
    this.ops[change.kind] += 1;
  }

  get total(): number {
    return Object.values(this.ops).reduce((a, b) => a + b, 0);
  }

  /**
   * A slot on `day` (relative to today): a timed event, or now and then an all-day one. Inside the
   * window the scenario keeps a margin at both ends (the window edges move daily).
   */
  #slot(rng: Rng, day = rng.int(-35, 180)): { start: string; end: string } {
    if (rng.chance(0.1)) {
      const from = this.today + day * DAY;
      return { start: cronofyDate(from), end: cronofyDate(from + rng.int(1, 3) * DAY) };
    }
    const start = this.today + day * DAY + rng.int(0, 95) * 15 * MINUTE;
    return {
      start: cronofyTime(start),
      end: cronofyTime(start + rng.pick([15, 30, 60, 90, 120, 240]) * MINUTE),
    };
  }

  /** Outside the window (-42 d .. +201 d), clear of both edges: ten months ahead, or two back. */
  #outsideSlot(rng: Rng): { start: string; end: string } {
    return this.#slot(rng, rng.chance(0.5) ? rng.int(210, 320) : rng.int(-120, -50));
  }

  /** Events go into any of the account's calendars, registered or not: Cronofy has them all. */
  create(rng: Rng, accountId: string, notify = true): void {
    const calendarId = rng.pick(this.#calendars.get(accountId)!);
    const n = ++this.#counter;
    const e = this.sim.upsertEvent(
      accountId,
      { calendar_id: calendarId, summary: `chaos ${n}`, description: `created as #${n}`, ...this.#slot(rng) },
      { notify },
    );
    this.#events.get(accountId)!.set(e.event_uid, { calendarId, deleted: false, outside: false });
    if (notify) this.ops.create += 1;
  }

  /**
   * One random operation on the account. Event operations happen at once; a calendar filter
   * change is returned for the caller to register (an HTTP call that may have to wait out an
   * outage) and is counted once the service took it.
   */
  operate(rng: Rng, accountId: string, forced?: OpKind): OpKind | FilterChange {
    const events = this.#events.get(accountId)!;
    const live = [...events].filter(([, e]) => !e.deleted);
    const dead = [...events].filter(([, e]) => e.deleted);
    const inside = live.filter(([, e]) => !e.outside);
    const outside = live.filter(([, e]) => e.outside);
    let kind: OpKind =
      forced ??
      rng.weighted({
        create: 25,
        update: 23,
        move: 17,
        delete: 18,
        restore: 5,
        move_out: 5,
        move_in: 3,
        add_calendar: 2,
        remove_calendar: 2,
      } as Record<OpKind, number>);
    const calendars = this.#calendars.get(accountId)!;
    const registered = this.registered(accountId);
    if (kind === 'add_calendar' || kind === 'remove_calendar') {
      // One re-registration at a time per account; at least one calendar stays registered.
      if (this.#reregistering.has(accountId)) kind = 'update';
      else if (kind === 'add_calendar' && registered.length === calendars.length) kind = 'remove_calendar';
      else if (kind === 'remove_calendar' && registered.length === 1) kind = 'add_calendar';
    }
    if (kind === 'add_calendar' || kind === 'remove_calendar') {
      const calendarId =
        kind === 'add_calendar'
          ? rng.pick(calendars.filter((c) => !registered.includes(c)))
          : rng.pick(registered);
      this.#reregistering.add(accountId);
      return {
        accountId,
        kind,
        calendarId,
        // In the account's own order, so a filter is always written the same way.
        calendarIds: calendars.filter((c) =>
          kind === 'add_calendar'
            ? registered.includes(c) || c === calendarId
            : registered.includes(c) && c !== calendarId,
        ),
      };
    }
    if (kind === 'move_in' && outside.length === 0) kind = 'move';
    if (kind === 'move_out' && inside.length === 0) kind = 'move';
    if (kind !== 'create' && live.length === 0 && kind !== 'restore') kind = 'create';
    if (kind === 'restore' && dead.length === 0) kind = live.length === 0 ? 'create' : 'update';
    if (kind === 'create') {
      this.create(rng, accountId);
      return kind;
    }
    const current = (uid: string) =>
      this.sim.truth(accountId, { includeDeleted: true }).find((e) => e.event_uid === uid)!;
    if (kind === 'delete') {
      const [uid, e] = rng.pick(live);
      this.sim.deleteEvent(accountId, uid);
      e.deleted = true;
    } else if (kind === 'restore') {
      // Back at the times it had when deleted, inside the window or not.
      const [uid, e] = rng.pick(dead);
      const was = current(uid);
      this.sim.upsertEvent(accountId, {
        calendar_id: e.calendarId,
        event_uid: uid,
        summary: `${was.summary ?? ''} (restored)`.slice(-80),
        start: was.start as string,
        end: was.end as string,
      });
      e.deleted = false;
    } else {
      const [uid, e] = rng.pick(kind === 'move_out' ? inside : kind === 'move_in' ? outside : live);
      const was = current(uid);
      const times =
        kind === 'move_out'
          ? this.#outsideSlot(rng)
          : kind === 'move' || kind === 'move_in'
            ? this.#slot(rng)
            : { start: was.start as string, end: was.end as string };
      this.sim.upsertEvent(accountId, {
        calendar_id: e.calendarId,
        event_uid: uid,
        summary: kind === 'update' ? `chaos edit ${++this.#counter}` : (was.summary ?? ''),
        description: kind === 'update' ? `edited as #${this.#counter}` : (was.description ?? ''),
        ...times,
      });
      if (kind !== 'update') e.outside = kind === 'move_out';
    }
    this.ops[kind] += 1;
    return kind;
  }
}

export async function runChaos(servers: ChaosServers, o: ChaosOptions): Promise<ChaosReport> {
  const rounds = o.rounds ?? 1;
  const channelRetryWindowMs = o.channelRetryWindowMs ?? 6_000;
  const rateLimit = o.rateLimit ?? { perSecond: 50, perMinute: 3_000 };
  const began = Date.now();
  const timeline: ChaosReport['timeline'] = [];
  let chaosStart = began;
  const mark = (what: string) => {
    timeline.push({ atMs: Date.now() - chaosStart, what });
    o.log(
      `[chaos +${((Date.now() - chaosStart) / 1000).toFixed(1)}s ${new Date().toISOString().slice(11, 23)}] ${what}`,
    );
  };

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cronofy-sync-chaos-'));
  const logLevel = o.logLevel ?? 'warn';

  const sim = await CronofySimulator.start({
    clientId: CLIENT_ID,
    clientSecrets: [SECRET],
    pageSize: 10, // several pages per full sync: paging and heartbeat resume are exercised
    channelRetryWindowMs,
    deliveryRetryDelaysMs: [500, 1_000, 2_000],
    rateLimit,
    logger: {
      info: (obj, msg) => {
        if (msg?.includes('closed a channel')) o.log(`[simulator] ${msg} ${JSON.stringify(obj)}`);
      },
      warn: () => undefined,
    },
  });
  const port = await freePort();
  const env: Record<string, string> = {
    LOCAL_MODE: '1', // all on loopback
    CRONOFY_CLIENT_ID: CLIENT_ID,
    CRONOFY_CLIENT_SECRET: SECRET,
    CRONOFY_API_URL: sim.url,
    CRONOFY_REQUEST_TIMEOUT: '4s',
    CRONOFY_RATE_LIMIT_PER_SECOND: String(Math.max(1, Math.floor(rateLimit.perSecond * 0.9))),
    CRONOFY_RATE_LIMIT_PER_MINUTE: String(Math.max(1, Math.floor(rateLimit.perMinute * 0.9))),
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    ADMIN_TOKEN,
    HOST: '127.0.0.1',
    PORT: String(port),
    TEMPORAL_ADDRESS: servers.temporal.address,
    TEMPORAL_TASK_QUEUE: `chaos-${o.seed.toString(16)}`,
    MONGODB_URI: servers.mongo.uri,
    MONGODB_DB: `chaos_${o.seed.toString(16)}_${Date.now().toString(36)}`,
    LOG_LEVEL: logLevel,
    DEBOUNCE_QUIET: '300ms',
    DEBOUNCE_MAX: '2s',
    CHANNEL_CHECK_INTERVAL: o.channelCheckInterval ?? '3s',
    SYNC_RETRY_WINDOW: '10m',
    // Webhook retries close together, so the subscriber's outage below is retried within the run.
    WEBHOOK_RETRY_INITIAL_INTERVAL: '500ms',
    WEBHOOK_RETRY_MAX_INTERVAL: '3s',
    // Far away: what converges here must converge without the periodic full sync.
    FULL_SYNC_INTERVAL: '7d',
    WINDOW_EDGE_INTERVAL: '7d',
  };
  const config: Config = loadConfig(env);
  const apiUrl = `http://127.0.0.1:${port}`;
  const api = new ServiceProcess({
    name: 'API',
    args: ['src/main.ts', 'api'],
    env,
    ready: { url: `${apiUrl}/healthz` },
    logFile: o.logDir ? path.join(o.logDir, 'api.log') : undefined,
  });
  const bundleFile = path.join(tmp, 'workflow-bundle.js');
  const worker = new ServiceProcess({
    name: 'worker',
    args: ['bench/lib/chaos/worker-process.ts'],
    env: { ...env, CHAOS_WORKFLOW_BUNDLE: bundleFile },
    ready: 'ipc',
    logFile: o.logDir ? path.join(o.logDir, 'worker.log') : undefined,
  });
  const admin = async (method: string, route: string, body?: unknown, timeoutMs = 10_000) => {
    const res = await fetch(`${apiUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  let temporalClient: Client | undefined;
  /** What a lagging account's workflow is doing: its status and its pending activities. */
  const diagnose = async (accountId: string): Promise<string> => {
    const parts: string[] = [];
    try {
      const res = await admin('GET', `/accounts/${encodeURIComponent(accountId)}`);
      const st = res.body as AccountStatus;
      parts.push(
        `state=${st.state} running=${st.running} pending=${st.pending?.notifications} ` +
          `channel=${st.channel?.id} lastError=${st.lastError ? `${st.lastError.type}: ${st.lastError.message}` : '-'}`,
      );
    } catch (err) {
      parts.push(`status: ${String(err)}`);
    }
    try {
      temporalClient ??= new Client({
        connection: await Connection.connect({ address: servers.temporal.address, connectTimeout: 2_000 }),
      });
      const d = await temporalClient.workflow.getHandle(workflowIdFor(accountId)).describe();
      for (const a of d.raw.pendingActivities ?? []) {
        const next = a.scheduledTime?.seconds ? new Date(Number(a.scheduledTime.seconds) * 1000) : undefined;
        parts.push(
          `activity ${a.activityType?.name} state=${a.state} attempt=${a.attempt}` +
            (next ? ` next=${next.toISOString().slice(11, 19)}` : '') +
            (a.lastFailure?.message ? ` lastFailure=${a.lastFailure.message.slice(0, 120)}` : ''),
        );
      }
    } catch (err) {
      parts.push(`describe: ${String(err)}`);
    }
    return parts.join('; ');
  };
  const mongo = new MongoClient(servers.mongo.uri, { serverSelectionTimeoutMS: 30_000 });
  const faultHandles: { kind: 'slow'; handle: SimFaultHandle; times: number }[] = [];
  let stopOps = false;
  let opsLoop: Promise<void> = Promise.resolve();
  let feedFollower: ReturnType<typeof followFeed> | undefined;
  let webhookSecret = '';
  const subscriber = startSubscriber(() => webhookSecret);

  try {
    writeFileSync(bundleFile, (await bundleWorkflows()).code);
    // One after the other: both create the indexes at start, and FerretDB 1.24 can fail a
    // createIndexes racing another one on a new database ("slice bounds out of range").
    await api.start();
    await worker.start();
    await mongo.connect();
    const db: Db = mongo.db(config.mongo.db);
    const syncRuns = db.collection<{
      _id: ObjectId;
      accountId: string;
      kind: string;
      outcome: string;
      startedAt: Date;
      attempts?: number;
    }>('sync_runs');

    // ---- the world before the chaos --------------------------------------------------------
    const rng = mulberry32(o.seed);
    const sweepRng = mulberry32(o.seed ^ 0x5eed);
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const world = new World(sim, today);
    const accounts: { accountId: string; calendars: string[] }[] = [];
    /**
     * New tokens for a re-registration, as the application would have them: the user authorizes
     * again and the code is exchanged. Cronofy then invalidates the refresh token the service holds
     * (a refresh racing this fails with `invalid_grant` until the new tokens are registered).
     */
    let reauthorizations = 0;
    const reauthorize = async (accountId: string) => {
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${sim.url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            client_id: CLIENT_ID,
            client_secret: SECRET,
            grant_type: 'authorization_code',
            code: sim.createAuthorizationCode(accountId),
          }),
          signal: AbortSignal.timeout(10_000),
        }).catch((err: unknown) => err as Error);
        if (!(res instanceof Error) && res.ok) {
          reauthorizations += 1;
          return (await res.json()) as { access_token: string; refresh_token: string };
        }
        // The token endpoint answers 500 now and then in this run (an injected fault): try again.
        if (attempt >= 20)
          throw new Error(`re-authorizing ${accountId}: ${res instanceof Error ? res : res.status}`);
        await sleep(500);
      }
    };
    /**
     * A calendar filter change: `POST /accounts` again with the new `calendarIds`, retried (it is
     * idempotent) while the API or Temporal is down, as a caller would. The world counts the
     * account's new filter from the first 200.
     */
    const reregister = async (change: FilterChange): Promise<void> => {
      const tokens = await reauthorize(change.accountId);
      const started = Date.now();
      for (;;) {
        const res = await admin('POST', '/accounts', {
          accountId: change.accountId,
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          calendarIds: change.calendarIds,
        }).catch((err: unknown) => ({ status: 0, body: String(err) }));
        if (res.status === 200) break;
        if (Date.now() - started > 120_000) {
          throw new Error(`re-registering ${change.accountId}: ${res.status} ${JSON.stringify(res.body)}`);
        }
        await sleep(500);
      }
      world.filterChanged(change);
      mark(
        `${change.accountId}: ${change.calendarId} ${change.kind === 'add_calendar' ? 'added to' : 'removed from'} ` +
          `its calendarIds (re-registered with ${change.calendarIds.length})`,
      );
    };
    for (let i = 0; i < o.accounts; i++) {
      // Three calendars, two registered: the third is there to be added, and its events (which
      // Cronofy has all along) must not reach MongoDB before it is.
      const calendars = [`cal_${i}_work`, `cal_${i}_home`, `cal_${i}_side`];
      const registered = calendars.slice(0, 2);
      const acc = sim.createAccount({
        accountId: `chaos-${o.seed.toString(16)}-${i}`,
        calendarIds: calendars,
      });
      world.addAccount(acc.accountId, calendars, registered);
      for (let k = 0; k < o.initialEventsPerAccount; k++) world.create(rng, acc.accountId, false);
      accounts.push({ accountId: acc.accountId, calendars });
      const res = await admin('POST', '/accounts', {
        accountId: acc.accountId,
        accessToken: acc.accessToken,
        refreshToken: acc.refreshToken,
        calendarIds: registered,
      });
      if (res.status !== 201) {
        throw new Error(`registering ${acc.accountId}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    o.log(`[chaos] ${o.accounts} accounts registered; waiting for channels and initial full syncs`);
    // A downstream consumer of the change feed, from the first write to the end, through every fault.
    feedFollower = followFeed({
      apiUrl,
      adminToken: ADMIN_TOKEN,
      accountIds: () => accounts.map((a) => a.accountId),
      intervalMs: 500,
      limit: 40,
    });
    // ... and a webhook receiver, subscribed to every account, verifying every signature.
    const hook = await admin('POST', '/webhooks', { url: await subscriber.listen(), description: 'chaos' });
    if (hook.status !== 201) throw new Error(`POST /webhooks: ${hook.status} ${JSON.stringify(hook.body)}`);
    webhookSecret = (hook.body as { secret: string }).secret;
    await eventually(
      async () => {
        const synced = await syncRuns.distinct('accountId', { kind: 'full', outcome: 'succeeded' });
        return (
          synced.length === accounts.length && accounts.every((a) => sim.channels(a.accountId).length === 1)
        );
      },
      60_000 + 2_000 * o.accounts,
      'initial full syncs and channels',
      250,
    );

    // ---- operations, in the background ---------------------------------------------------------
    chaosStart = Date.now();
    mark(`seed ${o.seed}: operations start, one every ${o.opIntervalMs} ms`);
    /** Filter changes still being registered (each retries through the outages on its own). */
    const reregistrations: Promise<void>[] = [];
    const reregistrationFailures: string[] = [];
    opsLoop = (async () => {
      while (!stopOps) {
        const a = accounts[rng.int(0, accounts.length - 1)]!;
        const op = world.operate(rng, a.accountId);
        if (typeof op === 'object') {
          reregistrations.push(
            reregister(op).catch((err: unknown) => void reregistrationFailures.push(String(err))),
          );
        }
        await sleep(o.opIntervalMs);
      }
    })();

    const requestsFrom = sim.requests.length;
    const deliveriesFrom = sim.deliveries.length;
    const apiV1 = /^\/v1\//;
    const cronofyFaults = (r: number) => {
      sim.injectFault({ path: apiV1, status: [500, 502, 503][r % 3]!, times: 4 });
      sim.injectFault({ path: apiV1, status: 504, times: 2 });
      sim.injectFault({ path: apiV1, status: 429, retryAfter: '1', times: 4 });
      sim.injectFault({ path: apiV1, drop: true, times: 4 });
      faultHandles.push({
        kind: 'slow',
        times: 4,
        handle: sim.injectFault({ path: apiV1, delayMs: 1_500, times: 4 }),
      });
      // Slower than CRONOFY_REQUEST_TIMEOUT (4 s): the client gives up; reads have no side effects.
      faultHandles.push({
        kind: 'slow',
        times: 2,
        handle: sim.injectFault({ method: 'GET', path: '/v1/events', delayMs: 6_000, times: 2 }),
      });
    };
    let tokenExpiries = 0;
    const expireSome = (r: number) => {
      const n = Math.max(1, Math.ceil(accounts.length / 4));
      for (let k = 0; k < n; k++) {
        sim.expireAccessTokens(accounts[(r * n + k) % accounts.length]!.accountId);
        tokenExpiries += 1;
      }
      // The first refresh after the expiry fails once: the activity retries and refreshes again.
      sim.injectFault({ method: 'POST', path: '/oauth/token', status: 500, times: 1 });
    };

    const killed: { killAt: number; runs: { _id: ObjectId; accountId: string; kind: string }[] }[] = [];
    let temporalDownMs = 0;
    let mongoDownMs = 0;
    let receiverDownMs = 0;
    let temporalRestarts = 0;
    let mongoRestarts = 0;
    let receiverOutages = 0;

    for (let r = 0; r < rounds; r++) {
      mark(`round ${r + 1}/${rounds}: Cronofy 5xx, 429 + Retry-After, dropped connections, slow answers`);
      cronofyFaults(r);
      await sleep(3_000);

      mark('access tokens expired on a quarter of the accounts (first refresh answers 500)');
      expireSome(r * 2);
      await sleep(2_000);

      // Worker killed mid-sync: a slow first page keeps a sync activity running long enough.
      const phaseStart = new Date();
      faultHandles.push({
        kind: 'slow',
        times: 3,
        handle: sim.injectFault({ method: 'GET', path: '/v1/events', delayMs: 3_000, times: 3 }),
      });
      await eventually(
        () => syncRuns.findOne({ outcome: 'running', startedAt: { $gte: phaseStart } }),
        20_000,
        'a running sync to kill the worker under',
        100,
      );
      await worker.kill();
      const killAt = Date.now();
      const runs = await syncRuns
        .find(
          { outcome: 'running', startedAt: { $gte: phaseStart } },
          { projection: { accountId: 1, kind: 1 } },
        )
        .toArray();
      killed.push({ killAt, runs });
      mark(
        `worker SIGKILLed with ${runs.length} sync(s) running (${runs.map((x) => x.accountId).join(', ')})`,
      );
      await sleep(1_000);
      await worker.start();
      mark('new worker started');
      await sleep(2_000);

      mark('MongoDB-protocol server stopped');
      let t = Date.now();
      await servers.mongo.stop();
      if (!(await isDown(() => probeMongo(servers.mongo.uri))))
        throw new Error('MongoDB still answers after stop');
      await sleep(2_000);
      await servers.mongo.start();
      mongoDownMs += Date.now() - t;
      mongoRestarts += 1;
      await db.command({ ping: 1 }); // this process's own pool reconnects now, not in the first comparison
      mark('MongoDB-protocol server started again');
      await sleep(2_000);

      mark('Temporal server stopped');
      t = Date.now();
      await servers.temporal.stop();
      if (!(await isDown(() => probeTemporal(servers.temporal.address)))) {
        throw new Error('Temporal still answers after stop');
      }
      await sleep(1_500);
      await servers.temporal.start();
      temporalDownMs += Date.now() - t;
      temporalRestarts += 1;
      mark('Temporal server started again');
      await sleep(2_000);

      mark(`receiver down for ${channelRetryWindowMs + 3_000} ms, after a change on every account`);
      t = Date.now();
      await api.stop();
      subscriber.setFailing(true); // the webhook receiver is down as long (503)
      mark(`API stopped (SIGTERM) in ${Date.now() - t} ms`);
      for (const a of accounts) world.operate(sweepRng, a.accountId, 'update');
      await sleep(channelRetryWindowMs + 3_000);
      const restarting = Date.now();
      subscriber.setFailing(false);
      await api.start();
      mark(`API started in ${Date.now() - restarting} ms`);
      receiverDownMs += Date.now() - t;
      receiverOutages += 1;
      mark(`receiver up again; ${sim.closedChannels.length} channel(s) closed by the simulator so far`);

      mark('Cronofy faults again, and more access tokens expired');
      cronofyFaults(r + 1);
      expireSome(r * 2 + 1);
      await sleep(4_000);
    }

    stopOps = true;
    await opsLoop;
    // Every filter change is registered before the faults stop: the comparison needs the final filters.
    await Promise.all(reregistrations);
    if (reregistrationFailures.length > 0) throw new Error(reregistrationFailures.join('; '));
    sim.clearFaults();
    const faultsEnd = Date.now();
    const chaosMs = faultsEnd - chaosStart;
    mark(`operations and faults stop after ${world.total} operations; waiting for convergence`);

    // ---- convergence, by the service's own means ----------------------------------------------
    const accountIds = accounts.map((a) => a.accountId);
    /** While waiting: one read of `events` per check. */
    /** The truth is the events of the calendars each account is registered with at the end. */
    const scopeOf = (accountId: string) => ({ calendarIds: world.registered(accountId) });
    const compareAll = () => compareManyWithTruth(db, sim, accountIds, scopeOf);
    /** The verdict: the suite's own comparison, account by account. */
    const compareEach = async () => {
      const out = new Map<string, Divergence>();
      for (const id of accountIds) out.set(id, await compareWithTruth(db, sim, id, scopeOf(id)));
      return out;
    };
    const totals = (m: Map<string, Divergence>) => {
      let missing = 0;
      let stale = 0;
      let phantom = 0;
      let unregistered = 0;
      for (const d of m.values()) {
        missing += d.missing.length;
        stale += d.stale.length;
        phantom += d.phantom.length;
        unregistered += d.unregistered?.length ?? 0;
      }
      return { missing, stale, phantom, unregistered };
    };
    let convergedAt: number | null = null;
    let streak = 0;
    let lastLog = 0;
    while (Date.now() - faultsEnd < o.settleTimeoutMs) {
      const compareStarted = Date.now();
      const all = await compareAll().catch(() => undefined); // MongoDB not answering: not converged
      const compareMs = Date.now() - compareStarted;
      const t = all ? totals(all) : { missing: -1, stale: -1, phantom: -1, unregistered: -1 };
      if (t.missing === 0 && t.stale === 0 && t.phantom === 0) {
        convergedAt ??= Date.now();
        if (++streak >= 3) break;
      } else {
        convergedAt = null;
        streak = 0;
        if (Date.now() - lastLog > 5_000) {
          lastLog = Date.now();
          const behind = all
            ? [...all]
                .filter(([, d]) => d.missing.length + d.stale.length + d.phantom.length > 0)
                .map(
                  ([id, d]) =>
                    `${id.slice(id.lastIndexOf('-') + 1)}:${d.missing.length}/${d.stale.length}/${d.phantom.length}`,
                )
            : [];
          o.log(
            `[chaos +${((Date.now() - faultsEnd) / 1000).toFixed(0)}s settling] missing ${t.missing}, stale ${t.stale}, phantom ${t.phantom}` +
              (behind.length ? ` (account:m/s/p ${behind.join(' ')})` : '') +
              ` [compared in ${compareMs} ms]`,
          );
          if (o.diagnose && all) {
            const lagging = [...all].filter(
              ([, d]) => d.missing.length + d.stale.length + d.phantom.length > 0,
            );
            for (const [id] of lagging.slice(0, 5)) o.log(`  ${id}: ${await diagnose(id)}`);
          }
        }
      }
      await sleep(1_000);
    }
    const convergeMs = convergedAt === null ? null : convergedAt - faultsEnd;
    mark(
      convergeMs === null
        ? 'did NOT converge in time'
        : `converged ${convergeMs} ms after the faults stopped`,
    );

    // Workflows idle: nothing running, nothing pending (so the comparison below is the final word).
    const statuses = new Map<string, AccountStatus>();
    const statusOf = async (accountId: string) => {
      const res = await admin('GET', `/accounts/${encodeURIComponent(accountId)}`);
      if (res.status !== 200) throw new Error(`status of ${accountId}: ${res.status}`);
      const s = res.body as AccountStatus;
      statuses.set(accountId, s);
      return s;
    };
    await eventually(
      async () => {
        const all = await Promise.all(accounts.map((a) => statusOf(a.accountId)));
        return all.every(
          (s) => s.running === null && s.pending.notifications === 0 && s.pending.requested.length === 0,
        );
      },
      30_000,
      'idle workflows',
      500,
    ).catch((err: unknown) => o.log(`[chaos] ${String(err)}`));

    const final = await compareEach();
    const { unregistered: unregisteredLive, ...divergence } = totals(final);
    const unconverged: ChaosReport['unconverged'] = {};
    for (const [accountId, d] of final) {
      if (d.missing.length + d.stale.length + d.phantom.length === 0) continue;
      unconverged[accountId] = {
        ...d,
        diagnosis: Object.keys(unconverged).length < 10 ? await diagnose(accountId) : undefined,
        status: statuses.get(accountId),
        lastSyncRuns: await syncRuns
          .find(
            { accountId },
            { projection: { _id: 0, kind: 1, outcome: 1, startedAt: 1, params: 1, error: 1 } },
          )
          .sort({ startedAt: -1 })
          .limit(5)
          .toArray(),
      };
    }
    const states: Record<string, number> = {};
    for (const s of statuses.values()) states[s.state] = (states[s.state] ?? 0) + 1;

    // ---- a full sync per account, after convergence ----------------------------------------------
    // Everything Cronofy has was already brought in by notifications, channel checks and catch-ups,
    // so this full sync should find nothing to correct: its drift (inserted, changed, tombstoned) is
    // the measure. One exception, counted apart: the live copies of calendars taken out of an
    // account's filter, which nothing but a full sync tombstones.
    const fullStarted = Date.now();
    const fullSync: FinalFullSync = {
      accounts: 0,
      drift: { inserted: 0, changed: 0, tombstoned: 0 },
      withoutDrift: [],
      writes: { upserted: 0, deleted: 0 },
      unregisteredBefore: unregisteredLive,
      unregisteredAfter: 0,
      divergenceAfter: { missing: 0, stale: 0, phantom: 0 },
      failures: [],
      durationMs: 0,
    };
    const queue = [...accountIds];
    const fullSyncOne = async (accountId: string) => {
      const requested = new Date();
      const res = await admin(
        'POST',
        `/accounts/${encodeURIComponent(accountId)}/sync?wait=true`,
        { mode: 'full' },
        150_000,
      ).catch((err: unknown) => ({ status: 0, body: String(err) }));
      if (res.status !== 200) {
        fullSync.failures.push(`${accountId}: ${res.status} ${JSON.stringify(res.body)}`);
        return;
      }
      const result = res.body as { upserted: number; deleted: number };
      const run = await db
        .collection<{
          accountId: string;
          kind: string;
          outcome: string;
          startedAt: Date;
          drift?: DriftCounts | null;
        }>('sync_runs')
        .findOne(
          {
            accountId,
            kind: 'full',
            outcome: 'succeeded',
            startedAt: { $gte: new Date(requested.getTime() - 1_000) },
          },
          { sort: { startedAt: -1 } },
        );
      fullSync.accounts += 1;
      fullSync.writes.upserted += result.upserted;
      fullSync.writes.deleted += result.deleted;
      if (!run?.drift) {
        // null: the account's first full sync (nothing to compare with), or no run found.
        fullSync.withoutDrift.push(accountId);
        return;
      }
      for (const k of ['inserted', 'changed', 'tombstoned'] as const) fullSync.drift[k] += run.drift[k];
    };
    // A few at a time, like a fleet's weekly full syncs spread over the week.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) await fullSyncOne(id);
      }),
    );
    const afterFull = totals(await compareEach());
    fullSync.unregisteredAfter = afterFull.unregistered;
    fullSync.divergenceAfter = {
      missing: afterFull.missing,
      stale: afterFull.stale,
      phantom: afterFull.phantom,
    };
    fullSync.durationMs = Date.now() - fullStarted;
    await feedFollower.drain();
    const feedCompared = await feedFollower.copy.compare(
      db,
      accounts.map((a) => a.accountId),
    );
    if (feedCompared.differences.length > 0) {
      o.log(
        `[chaos] the feed consumer's copy differs:\n  ${feedCompared.differences.slice(0, 20).join('\n  ')}`,
      );
    }
    // The webhook receiver: everything delivered (retries of the outage included) before comparing.
    const ids = accounts.map((a) => a.accountId);
    await eventually(
      async () => {
        const c = await subscriber.copy.compare(db, ids);
        return c.missing + c.stale + c.phantom === 0;
      },
      60_000,
      'the webhook receiver holding what events holds',
      1_000,
    ).catch(() => undefined);
    const hookCompared = await subscriber.copy.compare(db, ids);
    if (hookCompared.differences.length > 0) {
      o.log(
        `[chaos] the webhook receiver's copy differs:\n  ${hookCompared.differences.slice(0, 20).join('\n  ')}`,
      );
    }
    const downstream: ChaosReport['downstream'] = {
      feed: {
        missing: feedCompared.missing,
        stale: feedCompared.stale,
        phantom: feedCompared.phantom,
        changes: feedFollower.copy.applied,
        outOfOrder: feedFollower.copy.outOfOrder,
        pages: feedFollower.stats.pages,
        pendingMarks: await db.collection('events').countDocuments({ feedState: 'pending' }),
      },
      webhook: {
        missing: hookCompared.missing,
        stale: hookCompared.stale,
        phantom: hookCompared.phantom,
        changes: subscriber.copy.applied,
        outOfOrder: subscriber.copy.outOfOrder,
        messages: subscriber.stats.messages,
        badSignatures: subscriber.stats.badSignatures,
        refused: subscriber.stats.refused,
      },
    };
    const driftTotal = fullSync.drift.inserted + fullSync.drift.changed + fullSync.drift.tombstoned;
    mark(
      `final full sync of ${fullSync.accounts} account(s) in ${fullSync.durationMs} ms: drift ${driftTotal} ` +
        `(inserted ${fullSync.drift.inserted}, changed ${fullSync.drift.changed}, tombstoned ${fullSync.drift.tombstoned}); ` +
        `live copies of unregistered calendars ${fullSync.unregisteredBefore} → ${fullSync.unregisteredAfter}`,
    );

    // ---- what actually happened -----------------------------------------------------------------
    const worldStats = async (): Promise<ChaosReport['world']> => {
      const windowFrom = cronofyDate(today - 42 * DAY);
      const windowTo = cronofyDate(today + 201 * DAY);
      const out = {
        liveOutsideWindow: 0,
        inUnregisteredCalendars: 0,
        filterChanged: 0,
        neverRegisteredStored: 0,
      };
      for (const a of accounts) {
        out.neverRegisteredStored += await db.collection('events').countDocuments({
          accountId: a.accountId,
          calendarId: { $nin: [...world.everRegistered(a.accountId)] },
        });
        const registered = world.registered(a.accountId);
        if (registered.join() !== a.calendars.slice(0, 2).join()) out.filterChanged += 1;
        for (const e of sim.truth(a.accountId, { includeDeleted: true })) {
          if (!registered.includes(e.calendar_id)) out.inUnregisteredCalendars += 1;
          else if (!e.deleted) {
            const day = String(e.start).slice(0, 10);
            if (day < windowFrom || day >= windowTo) out.liveOutsideWindow += 1;
          }
        }
      }
      return out;
    };
    const requests = sim.requests.slice(requestsFrom);
    const deliveries = sim.deliveries.slice(deliveriesFrom);
    const closures = sim.closedChannels;
    let channelsRecreated = 0;
    const channelProblems: string[] = [];
    for (const a of accounts) {
      const open = sim.channels(a.accountId);
      if (open.length !== 1) channelProblems.push(`${a.accountId}: ${open.length} open channels`);
    }
    for (const c of closures) {
      const open = sim.channels(c.accountId);
      const recovered = await syncRuns.findOne({
        accountId: c.accountId,
        kind: { $in: ['catch_up', 'full'] },
        outcome: 'succeeded',
        startedAt: { $gt: c.at },
      });
      if (open.length === 1 && open[0]!.channel_id !== c.channel.channel_id && recovered)
        channelsRecreated += 1;
    }
    const killedRuns: KilledRun[] = [];
    for (const k of killed) {
      for (const run of k.runs) {
        const doc = await syncRuns.findOne({ _id: run._id });
        const after = await syncRuns.findOne({
          accountId: run.accountId,
          outcome: 'succeeded',
          startedAt: { $gt: new Date(k.killAt) },
        });
        killedRuns.push({
          accountId: run.accountId,
          syncRunId: run._id.toHexString(),
          kind: run.kind,
          outcome: doc?.outcome ?? 'missing',
          attempts: doc?.attempts ?? 0,
          syncedAfterKill: after !== null || doc?.outcome === 'succeeded',
        });
      }
    }

    const report: ChaosReport = {
      seed: o.seed,
      accounts: accounts.length,
      events: accounts.reduce((n, a) => n + sim.truth(a.accountId, { includeDeleted: true }).length, 0),
      operations: { ...world.ops, total: world.total },
      faults: {
        cronofy5xx: requests.filter((q) => q.fault && typeof q.status === 'number' && q.status >= 500).length,
        rateLimited429WithRetryAfter: requests.filter((q) => q.fault && q.status === 429).length,
        rateLimited429Natural: requests.filter((q) => !q.fault && q.status === 429).length,
        dropped: requests.filter((q) => q.status === 'dropped').length,
        slow: faultHandles.reduce((n, f) => n + f.times - f.handle.remaining(), 0),
        tokenExpiries,
        tokenRefreshes:
          requests.filter((q) => q.path === '/oauth/token' && q.status === 200).length - reauthorizations,
        workerKills: worker.exits.filter((x) => x.how === 'kill').length,
        killedMidSync: killed.reduce((n, k) => n + k.runs.length, 0),
        temporalRestarts,
        temporalDownMs,
        receiver503s: deliveries.filter((d) => d.status === 503).length,
        mongoRestarts,
        mongoDownMs,
        receiverOutages,
        receiverDownMs,
        failedDeliveries: deliveries.filter((d) => !d.ok).length,
        channelsClosed: closures.length,
        channelsRecreated,
        catchUpSyncs: await syncRuns.countDocuments({ kind: 'catch_up', outcome: 'succeeded' }),
      },
      killedRuns,
      chaosMs,
      convergeMs,
      divergence,
      world: await worldStats(),
      downstream,
      reauthorizations,
      finalFullSync: fullSync,
      unconverged,
      states,
      channelProblems,
      exits: { api: [...api.exits], worker: [...worker.exits] },
      timeline,
    };
    o.log(`[chaos] done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
    return report;
  } catch (err) {
    if (worker.tail()) o.log(`[chaos] worker output (tail):\n${worker.tail().slice(-4_000)}`);
    if (api.tail()) o.log(`[chaos] API output (tail):\n${api.tail().slice(-4_000)}`);
    throw err;
  } finally {
    stopOps = true;
    await opsLoop.catch(() => undefined);
    await feedFollower?.stop();
    await subscriber.close();
    await Promise.allSettled([api.close(), worker.close(), temporalClient?.connection.close()]);
    await sim.stop().catch(() => undefined);
    await mongo
      .db(config.mongo.db)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The report's figures as a markdown table body (rows only), for the bench and for logs. */
export function reportRows(r: ChaosReport): [string, string][] {
  const f = r.faults;
  const ops = r.operations;
  const fs = r.finalFullSync;
  const driftTotal = fs.drift.inserted + fs.drift.changed + fs.drift.tombstoned;
  return [
    ['seed', `\`${r.seed}\``],
    ['accounts', String(r.accounts)],
    [
      'operations',
      `${ops.total} (create ${ops.create}, update ${ops.update}, move ${ops.move}, delete ${ops.delete}, ` +
        `restore ${ops.restore}, move out of the window ${ops.move_out}, move back in ${ops.move_in}, ` +
        `calendar added ${ops.add_calendar}, calendar removed ${ops.remove_calendar})`,
    ],
    ['events in Cronofy at the end (with tombstones)', String(r.events)],
    [
      'live events outside the window at the end (expected at their new times)',
      String(r.world.liveOutsideWindow),
    ],
    [
      'accounts ending with another calendar filter / events in unregistered calendars (not expected)',
      `${r.world.filterChanged} / ${r.world.inUnregisteredCalendars}`,
    ],
    ['stored documents of calendars never registered (expected 0)', String(r.world.neverRegisteredStored)],
    ['Cronofy 5xx answered', String(f.cronofy5xx)],
    [
      '429 with Retry-After answered (injected) / natural 429s',
      `${f.rateLimited429WithRetryAfter} / ${f.rateLimited429Natural}`,
    ],
    ['connections dropped', String(f.dropped)],
    ['slow answers (1.5 s, 3 s, 6 s > client timeout)', String(f.slow)],
    [
      'access tokens expired / refreshes that succeeded / re-authorizations (for re-registrations)',
      `${f.tokenExpiries} / ${f.tokenRefreshes} / ${r.reauthorizations}`,
    ],
    ['worker SIGKILLs / syncs running at the kill', `${f.workerKills} / ${f.killedMidSync}`],
    ['MongoDB restarts (down for)', `${f.mongoRestarts} (${(f.mongoDownMs / 1000).toFixed(1)} s)`],
    [
      'Temporal restarts (down for) / pushes answered 503',
      `${f.temporalRestarts} (${(f.temporalDownMs / 1000).toFixed(1)} s) / ${f.receiver503s}`,
    ],
    [
      'receiver outages (down for) / failed push attempts',
      `${f.receiverOutages} (${(f.receiverDownMs / 1000).toFixed(1)} s) / ${f.failedDeliveries}`,
    ],
    [
      'channels closed by Cronofy / recreated with a catch-up',
      `${f.channelsClosed} / ${f.channelsRecreated}`,
    ],
    ['catch-up syncs', String(f.catchUpSyncs)],
    ['chaos duration', `${(r.chaosMs / 1000).toFixed(1)} s`],
    [
      'time to converge after the faults stopped',
      r.convergeMs === null ? '**did not converge**' : `${(r.convergeMs / 1000).toFixed(1)} s`,
    ],
    [
      'workflow states at the end',
      Object.entries(r.states)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'unknown',
    ],
    [
      'service processes ended during the run',
      [
        ...r.exits.worker.map((x) => ({ ...x, name: 'worker' })),
        ...r.exits.api.map((x) => ({ ...x, name: 'API' })),
      ]
        .map((x) => `${x.name} ${x.how} → ${x.signal ?? `exit ${x.code}`}`)
        .join(', ') || 'none',
    ],
    [
      '**missing / stale / phantom**',
      `**${r.divergence.missing} / ${r.divergence.stale} / ${r.divergence.phantom}**`,
    ],
    [
      `**drift of the final full sync** (${fs.accounts} accounts, after convergence): inserted / changed / tombstoned`,
      `**${driftTotal}**: ${fs.drift.inserted} / ${fs.drift.changed} / ${fs.drift.tombstoned}` +
        (fs.withoutDrift.length ? ` (no drift recorded: ${fs.withoutDrift.length})` : '') +
        (fs.failures.length ? ` (**${fs.failures.length} failed**)` : ''),
    ],
    [
      '… of which live copies of removed calendars tombstoned (before → after the full sync)',
      `${fs.unregisteredBefore - fs.unregisteredAfter} (${fs.unregisteredBefore} → ${fs.unregisteredAfter})`,
    ],
    [
      'final full sync writes (upserted / deleted) / duration',
      `${fs.writes.upserted} / ${fs.writes.deleted} / ${(fs.durationMs / 1000).toFixed(1)} s`,
    ],
    [
      'missing / stale / phantom after the full sync',
      `${fs.divergenceAfter.missing} / ${fs.divergenceAfter.stale} / ${fs.divergenceAfter.phantom}`,
    ],
    [
      'change-feed consumer (over HTTP, through every fault) against `events`: missing / stale / phantom; out of order; changes read; unflushed marks',
      `**${r.downstream.feed.missing} / ${r.downstream.feed.stale} / ${r.downstream.feed.phantom}**; ${r.downstream.feed.outOfOrder}; ${r.downstream.feed.changes} in ${r.downstream.feed.pages} pages; ${r.downstream.feed.pendingMarks}`,
    ],
    [
      'webhook receiver (verifying every signature, down with the receiver) against `events`: missing / stale / phantom; out of order; changes; messages (refused while down); bad signatures',
      `**${r.downstream.webhook.missing} / ${r.downstream.webhook.stale} / ${r.downstream.webhook.phantom}**; ${r.downstream.webhook.outOfOrder}; ${r.downstream.webhook.changes}; ${r.downstream.webhook.messages} (${r.downstream.webhook.refused}); ${r.downstream.webhook.badSignatures}`,
    ],
  ];
}
