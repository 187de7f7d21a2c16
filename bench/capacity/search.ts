/**
 * The largest account count a budget serves with urgent (notification) calls delayed at most
 * `thresholdMs` at p99 and the periodic work keeping up (nothing left queued at the end of the
 * week), by bisection over `simulateWeek`. Pure.
 */
import { meanCapacity, type SimulationInput, type SimulationResult, simulateWeek } from './model.js';

export interface CapacitySearch {
  /** Largest count that passed. */
  accounts: number;
  /** The simulation at that count. */
  atLimit: SimulationResult;
  /** The smallest count that failed, and why. */
  firstFailing: { accounts: number; reason: string } | null;
  runs: number;
}

export interface SearchOptions {
  thresholdMs: number;
  /** Stop when the bracket is narrower than this fraction of the answer (default 2 %). */
  tolerance?: number;
}

/** Scales the workload to `n` accounts, keeping the idle share. */
export function withAccounts(input: SimulationInput, n: number): SimulationInput {
  const w = input.workload;
  const total = w.activeAccounts + w.idleAccounts;
  const idleShare = total > 0 ? w.idleAccounts / total : 0;
  const idle = Math.round(n * idleShare);
  return { ...input, workload: { ...w, activeAccounts: n - idle, idleAccounts: idle } };
}

export function verdict(r: SimulationResult, thresholdMs: number): string | null {
  if (r.urgentDelay.p99 > thresholdMs) return `urgent p99 delay ${r.urgentDelay.p99} ms > ${thresholdMs} ms`;
  if (r.backlogAtEnd.background > 0 || r.backlogAtEnd.urgent > 0) {
    return `${r.backlogAtEnd.urgent + r.backlogAtEnd.background} calls still queued at the end of the week`;
  }
  return null;
}

export function maxAccounts(input: SimulationInput, o: SearchOptions): CapacitySearch {
  const tolerance = o.tolerance ?? 0.02;
  // The mean-demand bound brackets the answer from above (peaks and the reserve only lower it).
  let hi = Math.max(
    2,
    Math.ceil(meanCapacity(input.workload, input.budget, input.timings, input.options) * 1.2),
  );
  let lo = 0;
  let best: SimulationResult | undefined;
  let firstFailing: CapacitySearch['firstFailing'] = null;
  let runs = 0;
  const run = (n: number) => {
    runs++;
    return simulateWeek(withAccounts(input, n));
  };
  // Make sure `hi` fails (it should, but a flat, idle workload may fit more).
  for (;;) {
    const r = run(hi);
    const why = verdict(r, o.thresholdMs);
    if (why) {
      firstFailing = { accounts: hi, reason: why };
      break;
    }
    lo = hi;
    best = r;
    hi *= 2;
  }
  while (hi - lo > Math.max(1, Math.floor(tolerance * lo))) {
    const mid = Math.floor((lo + hi) / 2);
    const r = run(mid);
    const why = verdict(r, o.thresholdMs);
    if (why) {
      hi = mid;
      firstFailing = { accounts: mid, reason: why };
    } else {
      lo = mid;
      best = r;
    }
  }
  return { accounts: lo, atLimit: best ?? run(lo), firstFailing, runs };
}
