/**
 * Capacity model, simulated: how many accounts fit in Cronofy's budget (default 50 requests/s and
 * 500/min per application). Runs the pure model in bench/capacity/ (real scheduler jitter, real
 * RateLimiter semantics with urgent vs background priority) over a simulated week per scenario and
 * bisects for the largest account count whose urgent (notification) calls wait at most the
 * threshold at p99 while the periodic work keeps up. docs/capacity.md explains the model and uses
 * these figures.
 *   npm run bench -- capacity      or      tsx bench/capacity-sim.ts
 */
import {
  type Budget,
  DEFAULT_BUDGET,
  type ModelOptions,
  meanCapacity,
  type SimulationResult,
  simulateWeek,
  type Workload,
  weeklyDemand,
} from './capacity/model.js';
import { maxAccounts, withAccounts } from './capacity/search.js';
import { type BenchContext, type BenchModule, type BenchResult, envNumber } from './lib/module.js';
import { runIfMain } from './lib/standalone.js';
import { fmt } from './lib/stats.js';
import { lineChart, writePlot } from './lib/svg.js';

const num = envNumber;

const base = { eventsPerAccount: 500, pageSize: 100, peakToMean: 2.5, notificationsPerEpisode: 3 };

export const PRESETS: Record<string, Workload> = {
  idle: { ...base, activeAccounts: 0, idleAccounts: 1, episodesPerDay: 0 },
  light: { ...base, activeAccounts: 1, idleAccounts: 0, episodesPerDay: 2 },
  typical: { ...base, activeAccounts: 1, idleAccounts: 0, episodesPerDay: 10 },
  heavy: { ...base, activeAccounts: 1, idleAccounts: 0, episodesPerDay: 40 },
};

const REFRESH: Record<ModelOptions['refresh'], string> = {
  'on-401': 'refresh on 401 (before the refresh-first fix)',
  proactive: 'refresh first when expired (current)',
  free: 'refresh not counted',
};

interface Scenario {
  name: string;
  preset: keyof typeof PRESETS;
  budget: Budget;
  refresh: ModelOptions['refresh'];
}

function budgetText(b: Budget): string {
  return `${b.perSecond}/s, ${b.perMinute.toLocaleString('en-US')}/min`;
}

export const capacityBench: BenchModule = {
  id: 'capacity',
  title: 'Capacity model: accounts per Cronofy budget (simulated week)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const thresholdMs = num('BENCH_CAPACITY_THRESHOLD_MS', 2_000);
    const raised: Budget = { perSecond: 50, perMinute: 3_000, reserveFraction: 0.2 };
    const scenarios: Scenario[] = [
      { name: 'idle', preset: 'idle', budget: DEFAULT_BUDGET, refresh: 'proactive' },
      { name: 'light (2 changes/day)', preset: 'light', budget: DEFAULT_BUDGET, refresh: 'proactive' },
      { name: 'typical (10 changes/day)', preset: 'typical', budget: DEFAULT_BUDGET, refresh: 'proactive' },
      { name: 'heavy (40 changes/day)', preset: 'heavy', budget: DEFAULT_BUDGET, refresh: 'proactive' },
      {
        name: 'typical, refresh on 401 (before the fix)',
        preset: 'typical',
        budget: DEFAULT_BUDGET,
        refresh: 'on-401',
      },
      { name: 'typical, refresh not counted', preset: 'typical', budget: DEFAULT_BUDGET, refresh: 'free' },
      { name: 'typical, raised budget', preset: 'typical', budget: raised, refresh: 'proactive' },
    ];
    const only = process.env.BENCH_CAPACITY_SCENARIOS?.split(',');
    const selected = only ? scenarios.filter((s) => only.some((o) => s.name.startsWith(o))) : scenarios;

    // Closed-form demand per account-week.
    const demandRows = (['idle', 'light', 'typical', 'heavy'] as const).flatMap((p) =>
      (['proactive', 'on-401'] as const).map((refresh) => {
        const d = weeklyDemand(PRESETS[p]!, undefined, { refresh });
        return `| ${p} | ${REFRESH[refresh]} | ${fmt(d.incremental, 1)} | ${fmt(d.full, 1)} | ${fmt(d.windowEdge, 1)} | ${fmt(d.channelChecks, 2)} | ${fmt(d.refresh, 1)} | **${fmt(d.total, 1)}** | ${fmt(meanCapacity(PRESETS[p]!, DEFAULT_BUDGET, undefined, { refresh }), 0)} |`;
      }),
    );

    const results: Array<{
      s: Scenario;
      accounts: number;
      r: SimulationResult;
      why: string;
      runs: number;
      ms: number;
    }> = [];
    for (const s of selected) {
      ctx.log(`capacity: ${s.name} at ${budgetText(s.budget)}`);
      const t0 = performance.now();
      const found = maxAccounts(
        { workload: PRESETS[s.preset]!, budget: s.budget, options: { refresh: s.refresh } },
        { thresholdMs },
      );
      results.push({
        s,
        accounts: found.accounts,
        r: found.atLimit,
        why: found.firstFailing
          ? `${found.firstFailing.accounts.toLocaleString('en-US')}: ${found.firstFailing.reason}`
          : '–',
        runs: found.runs,
        ms: performance.now() - t0,
      });
    }

    // A week at the typical limit, for the plot.
    const typical = results.find(
      (x) => x.s.preset === 'typical' && x.s.budget === DEFAULT_BUDGET && x.s.refresh === 'proactive',
    );
    let plot: string | undefined;
    if (typical) {
      const week = simulateWeek(
        withAccounts(
          { workload: PRESETS.typical!, budget: DEFAULT_BUDGET, options: { refresh: 'proactive' } },
          typical.accounts,
        ),
      );
      const hourly = (a: Uint32Array) => {
        const out: Array<[number, number]> = [];
        for (let h = 0; h < a.length / 60; h++) {
          let sum = 0;
          for (let m = h * 60; m < Math.min(a.length, (h + 1) * 60); m++) sum += a[m]!;
          out.push([h / 24, sum / 60]);
        }
        return out;
      };
      plot = writePlot(
        'capacity-week.svg',
        lineChart({
          title: `Cronofy calls per minute (hourly means), ${typical.accounts.toLocaleString('en-US')} typical accounts, default budget`,
          xLabel: 'day of the simulated week (Mon = 0)',
          yLabel: 'calls per minute',
          series: [
            { name: 'urgent demand (notification syncs)', points: hourly(week.perMinute.demandUrgent) },
            {
              name: 'background demand (periodic syncs, checks)',
              points: hourly(week.perMinute.demandBackground),
            },
            { name: 'served', points: hourly(week.perMinute.served) },
          ],
          hLines: [{ y: 500, label: 'budget 500/min' }],
        }),
      );
    }

    const resultRows = results.map(({ s, accounts, r, why, runs, ms }) => {
      const perWeek = r.calls.total / Math.max(1, r.accounts);
      return (
        `| ${s.name} | ${budgetText(s.budget)} | **${accounts.toLocaleString('en-US')}** | ${fmt(perWeek, 1)} | ` +
        `${fmt(r.demand.meanPerSecond * 60, 0)} | ${r.demand.peakPerMinute.toLocaleString('en-US')} | ${r.served.peakPerMinute.toLocaleString('en-US')} | ` +
        `${fmt(r.urgentDelay.p50 / 1000, 1)} / ${fmt(r.urgentDelay.p99 / 1000, 1)} / ${fmt(r.urgentDelay.max / 1000, 1)} | ` +
        `${fmt(r.backgroundDelay.p99 / 60_000, 1)} | ${why} | ${runs} runs, ${fmt(ms / 1000, 0)} s |`
      );
    });
    const lines = [
      `Command: \`${ctx.command}\`, run ${ctx.date} on ${ctx.machine}. Deterministic (seeded); the machine only changes how long it takes.`,
      '',
      'Per-account demand in closed form (Cronofy requests per account-week; 500 events in the window, page size 100 → ' +
        '5 pages per full sync, 1 per window-edge sync; weekly full and window-edge syncs; channel check after 24 h without a ' +
        'notification; access tokens live 1 h) and the accounts whose MEAN demand fills 500/min:',
      '',
      '| workload | token refresh | incremental | full | window edge | channel checks | refresh (+ 401) | total | accounts at mean demand |',
      '|---|---|---|---|---|---|---|---|---|',
      ...demandRows,
      '',
      `Simulated week (Mon 00:00 UTC → Sun 24:00; 100 ms steps): every account's full-sync and window-edge slots from the real ` +
        '`nextFullSyncAt`/`nextWindowEdgeAt` (per-account jitter), change episodes as a Poisson process with 2.5× the mean rate in ' +
        'weekday working hours (08–18 UTC, every account in one time zone: the worst case), the debounce (2 s quiet, 15 s cap), ' +
        'channel checks when due, a token refresh before a call when the token has expired (the service refreshes first since it stores the expiry); calls served by the real `RateLimiter` ' +
        '(at most 500 calls in any sliding minute and 50 in any sliding second, as Cronofy counts them; urgent = notification ' +
        'syncs, background = periodic syncs and checks, 20 % of each window reserved for urgent). ' +
        `The limit: the largest account count with urgent p99 queueing delay ≤ ${thresholdMs / 1000} s (the freshness budget beyond the ` +
        'debounce, minus the sync itself) and nothing left queued at the end of the week.',
      '',
      '| scenario | budget | **max accounts** | calls/account-week | mean demand/min | peak demand/min | peak served/min | urgent delay p50 / p99 / max (s) | background p99 delay (min) | first failing count | search |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...resultRows,
      '',
      ...(plot ? ['', `![a week at the typical limit](${plot})`] : []),
      '',
      'Knobs: `BENCH_CAPACITY_THRESHOLD_MS`, `BENCH_CAPACITY_SCENARIOS` (comma-separated name prefixes).',
    ];
    const summary = results.map((x) => `${x.s.name}: ${x.accounts.toLocaleString('en-US')}`).join('; ');
    return {
      markdown: lines.join('\n'),
      summary: `max accounts at ${thresholdMs} ms urgent p99 — ${summary}`,
    };
  },
};

await runIfMain(capacityBench, import.meta.url);
