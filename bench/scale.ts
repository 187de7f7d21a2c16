/**
 * Scale: 10,000 registered accounts on one worker. Real stack (bench/lib/stack.ts), the worker in
 * its own process exactly as `npm run start:worker` builds it (production `startWorker`, workflow
 * cache of `BENCH_SCALE_CACHE`, default 1,000, via WORKER_MAX_CACHED_WORKFLOWS). Measures:
 * - registration rate: `POST /accounts` for every account, 16 in flight (`BENCH_SCALE_DIRECT=1`:
 *   what it does without HTTP, the account documents written in batches of 250, then each
 *   workflow started). The workflow then creates the channel (List + Create Channel; the
 *   simulator's verification push comes back through the receiver) and runs the initial full sync;
 * - the worker's RSS (/proc/<pid>/status) and `process.memoryUsage()` with every workflow running;
 * - timers firing on schedule: FULL_SYNC_INTERVAL is 10 minutes for the run, so every account's
 *   jittered full-sync slot comes up during it; the lag of each timer-fired full sync (its
 *   `sync_runs.startedAt`) behind its slot (`nextFullSyncAt`'s grid), and slots missed.
 * Cronofy's budget is off on both sides (10,000 channel creations and initial syncs in minutes
 * are far beyond 500/min; the budget is the capacity model's subject, not this one's).
 * Goal: worker RSS ≤ 1.5 GiB at 10,000 accounts.
 */

import { readFileSync } from 'node:fs';
import { eventually, sleep, within } from '../scripts/lib/wait.js';
import { loadConfig } from '../src/config.js';
import type { AccountDoc, SyncRunDoc } from '../src/store/db.js';
import { TokenCrypto } from '../src/store/token-crypto.js';
import { AccountWorkflows } from '../src/temporal/account-workflows.js';
import { FULL_SYNC_SALT, jitterOffset } from '../src/workflows/schedule.js';
import { type BenchContext, type BenchModule, type BenchResult, envNumber } from './lib/module.js';
import { pool } from './lib/pace.js';
import { startBenchStack } from './lib/stack.js';
import { runIfMain } from './lib/standalone.js';
import { fmt, fmtBytes, GiB, MiB, mark, summarize } from './lib/stats.js';
import { histogram, lineChart, writePlot } from './lib/svg.js';
import { loadSampler, procCpuMs, procMemory } from './lib/sys.js';

const num = envNumber;

const GOAL_RSS = 1.5 * GiB;

/** The SDK's default `maxCachedWorkflows` for a heap limit (its worker options docs). */
function sdkDefaultCache(heapLimit: number): string {
  return fmt(Math.max(10, Math.floor(((heapLimit / MiB - 200) * 600) / 1024)), 0);
}

interface Sample {
  t: number;
  registered: number;
  channels: number;
  rss: number;
  heapUsed: number;
  external: number;
  cached: number;
  temporalRss: number;
  mongoRss: number;
}

export const scaleBench: BenchModule = {
  id: 'scale',
  title: 'Scale: 10,000 accounts on one worker',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const n = num('BENCH_SCALE_ACCOUNTS', 10_000);
    const inFlight = num('BENCH_SCALE_CONCURRENCY', 16);
    const intervalMin = num('BENCH_SCALE_FULL_SYNC_MINUTES', 10);
    const intervalMs = intervalMin * 60_000;
    const observeMs = num('BENCH_SCALE_OBSERVE_SECONDS', intervalMin * 60) * 1000;
    // The run must fit in ~20 minutes on 2 cores: registration stops at this budget, and the
    // figures are for the accounts registered by then.
    const registerBudgetMs = num('BENCH_SCALE_REGISTER_SECONDS', 540) * 1000;
    // The worker's workflow cache (WORKER_MAX_CACHED_WORKFLOWS); 0 here = the SDK's default, which
    // sizes it from the heap limit (~2,300 on this machine's 4 GiB heap).
    const cacheSize = num('BENCH_SCALE_CACHE', 1_000);
    const stack = await startBenchStack({
      log: ctx.log,
      sim: { rateLimit: false },
      env: {
        CRONOFY_RATE_LIMIT_PER_SECOND: '100000',
        CRONOFY_RATE_LIMIT_PER_MINUTE: '6000000',
        FULL_SYNC_INTERVAL: `${intervalMin}m`,
        ...(cacheSize > 0 ? { WORKER_MAX_CACHED_WORKFLOWS: String(cacheSize) } : {}),
      },
    });
    const load = loadSampler();
    const samples: Sample[] = [];
    let registered = 0;
    const ids = Array.from({ length: n }, (_, i) => `scale-${i}`);
    const channelsOpen = () => {
      let c = 0;
      for (let i = 0; i < registered; i++) if (stack.sim.channels(ids[i]!).length > 0) c++;
      return c;
    };
    const t0 = Date.now();
    let sampling = false;
    const sample = async () => {
      if (sampling) return;
      sampling = true;
      try {
        const s = await stack.worker!.stats();
        const mem = procMemory(stack.worker!.pid);
        samples.push({
          t: (Date.now() - t0) / 1000,
          registered,
          channels: channelsOpen(),
          rss: mem?.rss ?? s.memory.rss,
          heapUsed: s.memory.heapUsed,
          external: s.memory.external,
          cached: s.worker?.cachedWorkflows ?? 0,
          temporalRss: procMemory(stack.temporal.pid)?.rss ?? Number.NaN,
          mongoRss: procMemory(stack.mongoServer.pid)?.rss ?? Number.NaN,
        });
      } catch {
        // a missed sample is fine
      } finally {
        sampling = false;
      }
    };
    const sampler = setInterval(() => void sample(), 5_000);
    try {
      await sample();
      const heapLimit = (await stack.worker!.stats()).heapLimit;
      const viaApi = process.env.BENCH_SCALE_DIRECT !== '1';
      ctx.log(
        `scale: registering ${n} accounts ${viaApi ? 'through POST /accounts' : 'directly (account documents in batches + workflow start)'}, ${inFlight} in flight`,
      );
      const regStart = performance.now();
      const cpuStart = procCpuMs(stack.worker!.pid) ?? 0;
      let failures = 0;
      const failureReasons = new Map<string, number>();
      let stopped = false;
      const overBudget = () => performance.now() - regStart > registerBudgetMs;
      /** Retries `fn` with backoff until it succeeds or the registration budget is spent. */
      const persist = async (fn: () => Promise<unknown>): Promise<boolean> => {
        for (let attempt = 1; ; attempt++) {
          try {
            await fn();
            return true;
          } catch (err) {
            failures++;
            const why = String((err as Error).message).slice(0, 160);
            failureReasons.set(why, (failureReasons.get(why) ?? 0) + 1);
            if (overBudget()) return false;
            await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
          }
        }
      };
      if (viaApi) {
        await pool(ids, inFlight, async (id) => {
          if (overBudget()) {
            stopped = true;
            return;
          }
          if (await persist(() => stack.register(id))) registered++;
          if (registered % 1000 === 0) ctx.log(`scale:   ${registered} registered`);
        });
      } else {
        // What POST /accounts does (store the encrypted tokens, start the workflow), minus HTTP and
        // with the account documents written in batches: one write per batch instead of one per
        // account. It separates the API's cost from the workflows' when comparing runs.
        const config = loadConfig(stack.env);
        const crypto = new TokenCrypto(config.tokenEncryptionKeys);
        const workflows = new AccountWorkflows({
          client: stack.client,
          taskQueue: config.temporal.taskQueue,
          timings: config.timings,
          publicUrl: config.http.publicUrl,
        });
        const accountsColl = stack.db.collection<AccountDoc>('accounts');
        const batch = num('BENCH_SCALE_BATCH', 250);
        for (let b = 0; b < ids.length && !stopped; b += batch) {
          if (overBudget()) {
            stopped = true;
            break;
          }
          const now = new Date();
          const docs: AccountDoc[] = ids.slice(b, b + batch).map((id) => {
            const a = stack.sim.createAccount({ accountId: id });
            return {
              _id: id,
              accountId: id,
              dataCenter: 'us',
              calendarIds: null,
              accessToken: crypto.encrypt(a.accessToken, id),
              refreshToken: crypto.encrypt(a.refreshToken, id),
              accessTokenExpiresAt: null,
              tokenVersion: 1,
              channelId: '',
              state: 'active',
              createdAt: now,
              updatedAt: now,
              deregisteredAt: null,
            };
          });
          if (!(await persist(() => accountsColl.insertMany(docs, { ordered: false })))) {
            stopped = true;
            break;
          }
          await pool(docs, inFlight, async (d) => {
            if (await persist(() => workflows.start(d.accountId))) registered++;
          });
          if (registered % 1000 < batch) ctx.log(`scale:   ${registered} registered`);
        }
      }
      const regS = (performance.now() - regStart) / 1000;
      const total = registered;
      ctx.log(
        `scale: ${total} registered in ${regS.toFixed(0)} s${stopped ? ' (time budget reached)' : ''}; waiting for every channel`,
      );
      let channelsTimedOut = false;
      let channelsAtGiveUp = 0;
      const initBudgetMs = num('BENCH_SCALE_INIT_SECONDS', 900) * 1000;
      await eventually(
        () => channelsOpen() >= total,
        initBudgetMs,
        'every account to have a channel',
        5_000,
      ).catch(() => {
        channelsTimedOut = true;
        channelsAtGiveUp = channelsOpen();
      });
      const initS = (performance.now() - regStart) / 1000;
      ctx.log(
        `scale: ${channelsTimedOut ? `${channelsOpen()} of ${total} channels open (gave up waiting)` : 'all channels open'} after ${initS.toFixed(0)} s; observing timers for ${observeMs / 1000} s`,
      );
      const observeStart = Date.now();
      await sleep(observeMs);
      const observeEnd = Date.now();
      await sample();
      clearInterval(sampler);
      const cpuEnd = procCpuMs(stack.worker!.pid) ?? 0;
      const finalStats = await stack.worker!.stats();
      const finalMem = procMemory(stack.worker!.pid);
      const loadNote = load.stop();

      // Timer-fired full syncs: every full sync after an account's first (the initial one).
      const runs = await within(
        stack.db
          .collection<SyncRunDoc>('sync_runs')
          .find({ kind: 'full' }, { projection: { _id: 0, accountId: 1, startedAt: 1 } })
          .toArray(),
        300_000,
        [],
      );
      let busy = 0;
      let failedActivities = 0;
      try {
        const log = readFileSync(stack.worker!.logFile, 'utf8');
        busy = log.match(/SQLITE_BUSY/g)?.length ?? 0;
        failedActivities = log.match(/"msg":"Activity failed"/g)?.length ?? 0;
      } catch {
        // no log
      }
      const byAccount = new Map<string, number[]>();
      for (const r of runs) {
        const list = byAccount.get(r.accountId) ?? [];
        list.push(r.startedAt.getTime());
        byAccount.set(r.accountId, list);
      }
      const lags: number[] = [];
      const lagPoints: Array<[number, number]> = [];
      let expected = 0;
      let fired = 0;
      for (const id of ids.slice(0, total)) {
        const starts = (byAccount.get(id) ?? []).sort((a, b) => a - b);
        if (starts.length === 0) continue;
        const offset = jitterOffset(id, FULL_SYNC_SALT, intervalMs);
        const slotAtOrBefore = (t: number) => offset + Math.floor((t - offset) / intervalMs) * intervalMs;
        // Slots strictly after the initial sync, up to a minute before the end (time to start).
        const first = starts[0]!;
        for (let s = slotAtOrBefore(first) + intervalMs; s <= observeEnd - 60_000; s += intervalMs)
          expected++;
        for (const st of starts.slice(1)) {
          const lag = st - slotAtOrBefore(st);
          fired++;
          lags.push(lag);
          lagPoints.push([(st - t0) / 1000, lag / 1000]);
        }
      }
      const lag = summarize(lags);
      const peakRss = Math.max(finalMem?.hwm ?? 0, ...samples.map((s) => s.rss));
      const maxCached = Math.max(0, ...samples.map((s) => s.cached));
      const perCachedMiB = maxCached > 0 ? (peakRss - (samples[0]?.rss ?? 0)) / MiB / maxCached : Number.NaN;
      const met = peakRss <= GOAL_RSS && total >= 10_000;
      const last = samples[samples.length - 1]!;

      const memPlot = writePlot(
        'scale-memory.svg',
        lineChart({
          title: `Worker memory while registering ${total.toLocaleString('en-US')} accounts and after`,
          xLabel: 'seconds since start',
          yLabel: 'MiB / count÷10',
          series: [
            { name: 'worker RSS (MiB)', points: samples.map((s) => [s.t, s.rss / MiB]) },
            { name: 'worker heap used (MiB)', points: samples.map((s) => [s.t, s.heapUsed / MiB]) },
            { name: 'cached workflows ÷ 10', points: samples.map((s) => [s.t, s.cached / 10]) },
            { name: 'accounts registered ÷ 10', points: samples.map((s) => [s.t, s.registered / 10]) },
          ],
          hLines: [{ y: GOAL_RSS / MiB, label: 'goal 1.5 GiB' }],
        }),
      );
      const lagPlot = writePlot(
        'scale-timer-lag.svg',
        lineChart({
          title: `Timer-fired full syncs: lag behind the jittered slot (interval ${intervalMin} min)`,
          xLabel: 'seconds since start',
          yLabel: 'lag (s)',
          series: [{ name: 'sync start − slot', points: lagPoints, dots: true }],
        }),
      );
      const lagHist = writePlot(
        'scale-timer-lag-histogram.svg',
        histogram({ title: 'Timer lag distribution', xLabel: 'lag (s)', values: lags.map((l) => l / 1000) }),
      );
      const cpuS = (cpuEnd - cpuStart) / 1000;
      const lines = [
        `Command: \`${ctx.command}\`, run ${ctx.date} on ${ctx.machine}; ${loadNote} (the machine was shared).`,
        '',
        `Stack: Cronofy simulator (budget off), API and worker in their own processes (production \`startApi\`/\`startWorker\`; ` +
          (cacheSize > 0
            ? `workflow cache \`WORKER_MAX_CACHED_WORKFLOWS=${cacheSize}\` (the SDK's default here would be ` +
              `(heap limit ${fmtBytes(heapLimit)} − 200 MiB) × 600/1024 ≈ ${sdkDefaultCache(heapLimit)}), reused V8 context), `
            : `the SDK's default workflow cache: \`maxCachedWorkflows\` = ` +
              `(heap limit ${fmtBytes(heapLimit)} − 200 MiB) × 600/1024 ≈ ${sdkDefaultCache(heapLimit)}, reused V8 context), `) +
          `Temporal dev server (in memory), ${stack.mongoServer.kind}; service budget raised to 100,000/s and 6,000,000/min, the ` +
          `simulator's off; FULL_SYNC_INTERVAL ${intervalMin} min, other timings default. ` +
          (viaApi
            ? 'Registration through `POST /accounts`.'
            : 'Registration (`BENCH_SCALE_DIRECT=1`): what `POST /accounts` does without HTTP (encrypted tokens written to ' +
              '`accounts` in batches, then `workflow.start` per account, as the API does).'),
        '',
        '| accounts | registration | all channels open | worker RSS peak | worker RSS at end | heap used at end | cached workflows at end | Temporal dev server RSS | FerretDB RSS |',
        '|---|---|---|---|---|---|---|---|---|',
        `| ${total.toLocaleString('en-US')}${stopped ? ` of ${n.toLocaleString('en-US')} (registration time budget of ${registerBudgetMs / 1000} s reached)` : ''} | ` +
          `${fmt(regS)} s, **${fmt(total / regS)} accounts/s** ${viaApi ? 'through POST /accounts' : '(direct: documents in batches + workflow start)'}${failures ? ` (${failures} ${failures === 1 ? 'call' : 'calls'} failed and ${failures === 1 ? 'was' : 'were'} retried)` : ''} | ` +
          `${channelsTimedOut ? `not all after ${fmt(initS)} s (${channelsAtGiveUp.toLocaleString('en-US')} open then, ${channelsOpen().toLocaleString('en-US')} at the end)` : `${fmt(initS)} s (${fmt(total / initS)} accounts/s)`} | **${fmtBytes(peakRss)}** | ${fmtBytes(finalMem?.rss ?? last.rss)} | ` +
          `${fmtBytes(finalStats.memory.heapUsed)} | ${finalStats.worker?.cachedWorkflows ?? '–'} | ${fmtBytes(last.temporalRss)} | ${fmtBytes(last.mongoRss)} |`,
        '',
        `**Worker RSS peak with ${total.toLocaleString('en-US')} running workflows: ${fmtBytes(peakRss)}** (goal ≤ 1.5 GiB at 10,000 accounts: ${mark(met)}${total < 10_000 ? '; fewer accounts than the goal names' : ''}). ` +
          'Memory is bounded by the workflow cache, not by the number of accounts: a workflow evicted from the cache costs nothing ' +
          'on the worker until its next task, which replays its (short) history. ' +
          `The worker started at ${fmtBytes(samples[0]?.rss ?? 0)} and grew by ${fmt(perCachedMiB, 2)} MiB per cached workflow ` +
          `(${fmtBytes(peakRss - (samples[0]?.rss ?? 0))} for ${maxCached}); once the cache is full, more accounts add ` +
          `no cached workflows, so ${n.toLocaleString('en-US')} accounts would stay near ${fmtBytes(peakRss)}` +
          `${total < n ? ' (a projection: this run did not register them all)' : ''}. \`WORKER_MAX_CACHED_WORKFLOWS\` sets the ` +
          'plateau: a smaller cache costs replays of short histories when evicted workflows wake ' +
          `(this run: ${cacheSize > 0 ? cacheSize : 'the SDK default'}; \`BENCH_SCALE_CACHE=0\` runs with the SDK's default).`,
        '',
        busy > 0
          ? `What held the run back: FerretDB. ${failedActivities} activity attempts failed with SQLite's "database is locked" ` +
            '(FerretDB 1.x serialises writes through one SQLite writer, and with up to 100 activities in flight its lock ' +
            'waits time out); Temporal retried each with backoff, which is where the timer lag and the unfinished ' +
            `initialisations come from. The worker itself used ${fmt((cpuS / ((observeEnd - observeStart) / 1000 + initS)) * 100, 0)} % ` +
            'of one core over the run.'
          : '',
        '',
        `Timers: ${fired} timer-fired full syncs for ${expected} slots due (${expected - fired > 0 ? `${expected - fired} missed or late past the end` : 'none missed'}); ` +
          `lag behind the slot p50 ${fmt(lag.p50 / 1000)} s, p95 ${fmt(lag.p95 / 1000)} s, p99 ${fmt(lag.p99 / 1000)} s, max ${fmt(lag.max / 1000)} s ` +
          `(${fmt((total / intervalMs) * 60_000)} full syncs a minute offered at this interval). Worker CPU from the first registration to the end: ` +
          `${fmt(cpuS)} s over ${fmt((observeEnd - observeStart) / 1000 + initS)} s. Failed activity attempts in the worker's log: ` +
          `${failedActivities} (${busy} of them FerretDB's SQLITE_BUSY), each retried by Temporal.`,
        '',
        ...(failures
          ? [
              `Failed registration calls (retried): ${[...failureReasons].map(([k, v]) => `${v}× ${k}`).join('; ')}.`,
              '',
            ]
          : []),
        `![worker memory](${memPlot})`,
        '',
        `![timer lag](${lagPlot})`,
        '',
        `![timer lag histogram](${lagHist})`,
        '',
        'Knobs: `BENCH_SCALE_ACCOUNTS`, `BENCH_SCALE_CONCURRENCY`, `BENCH_SCALE_FULL_SYNC_MINUTES`, `BENCH_SCALE_OBSERVE_SECONDS`, ' +
          '`BENCH_SCALE_REGISTER_SECONDS`, `BENCH_SCALE_INIT_SECONDS`, `BENCH_SCALE_DIRECT`, `BENCH_SCALE_BATCH`, ' +
          '`BENCH_SCALE_CACHE` (worker workflow cache; 0 = SDK default).',
      ];
      return {
        markdown: lines.join('\n'),
        goalsMet: met,
        summary: `${total} accounts: registration ${fmt(total / regS)}/s, worker RSS peak ${fmtBytes(peakRss)} (goal ≤ 1.5 GiB), timer lag p99 ${fmt(lag.p99 / 1000)} s`,
      };
    } finally {
      clearInterval(sampler);
      await stack.close();
    }
  },
};

await runIfMain(scaleBench, import.meta.url);
