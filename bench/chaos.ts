/**
 * Chaos convergence benchmark: the scenario of test/chaos/chaos.test.ts at a larger scale and with
 * a random seed (printed, and reusable with CHAOS_SEED). Random creates, updates, moves (also out of
 * the sync window past either edge, and back in), deletes, restores and calendar filter changes
 * (re-registration with a calendar added or removed) across 50 simulated accounts while faults play
 * out twice over: Cronofy 5xx, 429 with
 * Retry-After, dropped connections, slow answers, expired tokens, the worker SIGKILLed mid-sync,
 * the MongoDB-protocol and Temporal servers restarted, the receiver down past the simulator's
 * delivery retry window (channels closed silently). Then the service must converge by itself;
 * the section reports the seed, the operations and faults counted, the time to converge,
 * missing / stale / phantom over every account (goal: 0 / 0 / 0), and the drift of a full sync
 * forced on every account afterwards (goal: nothing beyond the copies of removed calendars).
 *
 * A module of `npm run bench` (id `chaos`); also runs alone: `tsx bench/chaos.ts` (docs/bench/chaos.md).
 * Servers: its own Temporal dev server (state on disk, so it survives the restart) and its own
 * MongoDB-protocol server (mongod on PATH, else FerretDB; never an external MONGODB_URI).
 *
 * Knobs (environment): CHAOS_SEED, CHAOS_ACCOUNTS (50), CHAOS_ROUNDS (2), CHAOS_OP_INTERVAL_MS (200),
 * CHAOS_INITIAL_EVENTS (6), CHAOS_SETTLE_SECONDS (300), CHAOS_LOG_DIR (keeps the service's logs).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  findOnPath,
  installServers,
  startMongo,
  startTemporalDevServer,
  TEMPORAL_CLI_VERSION,
  tempDir,
} from '../scripts/lib/servers.js';
import { randomSeed } from './lib/chaos/prng.js';
import { type ChaosReport, reportRows, runChaos } from './lib/chaos/scenario.js';
import { type BenchContext, type BenchModule, type BenchResult, envNumber } from './lib/module.js';
import { runIfMain } from './lib/standalone.js';
import { loadSampler } from './lib/sys.js';

const num = (name: string, fallback: number) => {
  const v = envNumber(name, Number.NaN);
  return Number.isNaN(v) ? fallback : Math.floor(v);
};

async function run(ctx: BenchContext): Promise<BenchResult> {
  const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) >>> 0 : randomSeed();
  const p = {
    seed,
    accounts: num('CHAOS_ACCOUNTS', 50),
    rounds: num('CHAOS_ROUNDS', 2),
    opIntervalMs: num('CHAOS_OP_INTERVAL_MS', 200),
    initialEventsPerAccount: num('CHAOS_INITIAL_EVENTS', 6),
    settleTimeoutMs: num('CHAOS_SETTLE_SECONDS', 300) * 1000,
  };
  ctx.log(`chaos: seed ${seed} (reproduce with CHAOS_SEED=${seed})`);
  await installServers(); // ~10 ms when cached; `npm run bench` has done it already
  const logDir = process.env.CHAOS_LOG_DIR ? path.resolve(process.env.CHAOS_LOG_DIR) : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });

  const dir = tempDir('bench-chaos');
  const mongoKind = findOnPath('mongod') ? 'mongod' : 'ferretdb';
  const [temporal, mongo] = await Promise.all([
    startTemporalDevServer({
      dbFile: path.join(dir, 'temporal.db'),
      ui: false,
      log: logDir ? path.join(logDir, 'temporal.log') : 'ignore',
    }),
    startMongo({
      kind: mongoKind,
      dataDir: path.join(dir, 'mongo'),
      log: logDir ? path.join(logDir, 'mongo.log') : 'ignore',
    }),
  ]);
  const load = loadSampler();
  let report: ChaosReport;
  try {
    report = await runChaos(
      {
        temporal: { address: temporal.address, stop: () => temporal.stop(), start: () => temporal.start() },
        mongo: { uri: mongo.uri, stop: () => mongo.stop(), start: () => mongo.start() },
      },
      {
        ...p,
        channelCheckInterval: '5s',
        rateLimit: { perSecond: 50, perMinute: 6_000 },
        log: ctx.log,
        logDir,
        diagnose: true,
      },
    );
  } finally {
    await Promise.allSettled([temporal.stop(), mongo.stop()]);
  }
  const loadNote = load.stop();

  const d = report.divergence;
  const converged = report.convergeMs !== null && d.missing + d.stale + d.phantom === 0;
  const fs = report.finalFullSync;
  const driftTotal = fs.drift.inserted + fs.drift.changed + fs.drift.tombstoned;
  // Removed calendars' events are tombstoned at re-registration: none may be live at the full sync.
  const fullSyncClean =
    fs.failures.length === 0 &&
    fs.accounts === report.accounts &&
    fs.withoutDrift.length === 0 &&
    fs.unregisteredBefore === 0 &&
    driftTotal === 0 &&
    fs.writes.upserted === 0 &&
    fs.divergenceAfter.missing + fs.divergenceAfter.stale + fs.divergenceAfter.phantom === 0;
  const ok = (b: boolean) => (b ? '**met**' : '**missed**');
  const rows = reportRows(report);
  const unconverged = Object.entries(report.unconverged);
  const markdown = [
    `Command: \`${ctx.command}\`, run ${ctx.date} on ${ctx.machine}. Temporal CLI ${TEMPORAL_CLI_VERSION} dev server ` +
      `(SQLite on disk) and ${mongoKind} on the same machine, both restarted during the run; the Cronofy simulator in the ` +
      'bench process; the service as two processes (`src/main.ts api`, and a worker calling `startWorker`). ' +
      `During the run: ${loadNote} (other work on a shared machine slows everything here).`,
    '',
    `Scenario (bench/lib/chaos/scenario.ts, played ${p.rounds}×): one random operation every ${p.opIntervalMs} ms ` +
      '(create, update, move, delete, restore a deleted event; move an event out of the sync window, past +201 d or ' +
      'before -42 d, or back in; register the account again with a calendar added to or removed from its `calendarIds`: ' +
      'each account has three calendars, two registered at first, and events in all three) on a random account, ' +
      'while Cronofy answers 5xx, 429 with ' +
      '`Retry-After: 1`, drops connections and answers slowly (1.5 s, 3 s, and 6 s against a 4 s client timeout); access ' +
      'tokens expire (the first refresh answers 500); the worker is SIGKILLed while sync activities run and a new one ' +
      'started; the MongoDB-protocol server and then the Temporal server are stopped and started again; the receiver is ' +
      'stopped for longer than the delivery retry window (6 s here) right after a change on every account, so the ' +
      'simulator closes those channels silently. Service timings: `DEBOUNCE_QUIET=300ms`, `DEBOUNCE_MAX=2s`, ' +
      '`CHANNEL_CHECK_INTERVAL=5s`, `SYNC_RETRY_WINDOW=10m`, periodic full and window-edge syncs 7 d away (not used to ' +
      'converge). Then operations and faults stop, and nothing is triggered by hand: convergence comes from notifications, ' +
      'activity retries, channel checks and catch-up syncs. The result compares `events` with the simulator for every ' +
      'account: the truth is the events of the calendars each account is registered with at the end, an event moved out ' +
      'of the window expected at its new times. Then a full sync is forced on every account ' +
      '(`POST /accounts/:id/sync?wait=true {"mode":"full"}`) and its `sync_runs.drift` summed: after convergence it ' +
      'should correct nothing (the events of calendars removed from a filter are tombstoned at re-registration, so ' +
      'no live copy of them is left for it). Drift counts inserts and changes only for changes older than 5 min ' +
      '(`DRIFT_GRACE_MS`), so the full sync writes (which have no such grace) are shown too.',
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    `Goal: every account converges, 0 missing / 0 stale / 0 phantom: ${ok(converged)}. ` +
      `Goal: the full sync after convergence corrects nothing (drift ${driftTotal}, writes ${fs.writes.upserted}, ` +
      `live copies of removed calendars ${fs.unregisteredBefore}): ${ok(fullSyncClean)}.` +
      (fs.failures.length > 0 ? ` Full syncs failed: ${fs.failures.join('; ')}.` : '') +
      (unconverged.length > 0
        ? ` Not converged: ${unconverged
            .map(([id, u]) => `\`${id}\` (${u.missing.length}/${u.stale.length}/${u.phantom.length})`)
            .join(', ')}.`
        : ''),
    ...(unconverged.length > 0
      ? [
          '',
          'What the first lagging accounts were doing at the end (workflow status; pending activities):',
          '',
          ...unconverged.slice(0, 5).map(([id, u]) => `- \`${id}\`: ${u.diagnosis ?? 'n/a'}`),
        ]
      : []),
    '',
    '<details><summary>Timeline of the run</summary>',
    '',
    ...report.timeline.map((t) => `- +${(t.atMs / 1000).toFixed(1)} s: ${t.what}`),
    '',
    '</details>',
    '',
    'Knobs (environment): `CHAOS_SEED`, `CHAOS_ACCOUNTS`, `CHAOS_ROUNDS`, `CHAOS_OP_INTERVAL_MS`, `CHAOS_INITIAL_EVENTS`, ' +
      '`CHAOS_SETTLE_SECONDS`, `CHAOS_LOG_DIR=<dir>` (keeps the API, worker and server logs).',
  ].join('\n');
  return {
    markdown,
    goalsMet: converged && fullSyncClean,
    summary:
      `seed ${seed}: ${report.operations.total} operations on ${report.accounts} accounts; missing ${d.missing}, ` +
      `stale ${d.stale}, phantom ${d.phantom}; final full sync drift ${driftTotal}; ` +
      (report.convergeMs === null
        ? 'did not converge'
        : `converged ${(report.convergeMs / 1000).toFixed(1)} s after the faults`),
  };
}

export const chaosBench: BenchModule = {
  id: 'chaos',
  title: 'Chaos convergence: random changes under faults, then events = Cronofy',
  run,
};

// `tsx bench/chaos.ts`: runs alone, prints the section and saves it as docs/bench/chaos.md.
await runIfMain(chaosBench, import.meta.url);
