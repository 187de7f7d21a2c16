/**
 * An open-loop load generator: requests are scheduled at a fixed rate whatever the answers do,
 * and at most `concurrency` are in flight; a request that finds every slot busy waits its turn.
 * Latency is measured from the request's *scheduled* time (so a slow phase cannot hide its own
 * queueing: no coordinated omission) and, separately, from the moment it was actually sent.
 */
export interface LoadOptions {
  /** Requests per second offered. */
  rate: number;
  durationMs: number;
  concurrency: number;
  /** Sends request number `i`; resolves true on success, false (or throws) on failure. */
  fire: (i: number) => Promise<boolean>;
  /** Index of the first request, so consecutive phases use fresh ids. */
  firstIndex?: number;
}

export interface LoadResult {
  offered: number;
  ok: number;
  failed: number;
  /** From the first scheduled send to the last answer, ms. */
  elapsedMs: number;
  /** From scheduled time to answer, ms, successful requests only. */
  latencies: number[];
  /** From actual send to answer, ms, successful requests only. */
  serviceTimes: number[];
  /** Most requests waiting for a free slot at once. */
  maxQueued: number;
}

export function runOpenLoop(o: LoadOptions): Promise<LoadResult> {
  const interval = 1000 / o.rate;
  const total = Math.round((o.rate * o.durationMs) / 1000);
  const first = o.firstIndex ?? 0;
  const queue: { i: number; at: number }[] = [];
  const result: LoadResult = {
    offered: total,
    ok: 0,
    failed: 0,
    elapsedMs: 0,
    latencies: [],
    serviceTimes: [],
    maxQueued: 0,
  };
  let scheduled = 0;
  let done = 0;
  let inFlight = 0;
  const t0 = performance.now() + 20;

  return new Promise((resolve) => {
    const finishOne = () => {
      inFlight--;
      done++;
      if (done === total) {
        result.elapsedMs = performance.now() - t0;
        resolve(result);
      } else pump();
    };
    const pump = () => {
      while (inFlight < o.concurrency && queue.length > 0) {
        const job = queue.shift()!;
        inFlight++;
        const sent = performance.now();
        o.fire(first + job.i).then(
          (ok) => {
            const end = performance.now();
            if (ok) {
              result.ok++;
              result.latencies.push(end - job.at);
              result.serviceTimes.push(end - sent);
            } else result.failed++;
            finishOne();
          },
          () => {
            result.failed++;
            finishOne();
          },
        );
      }
    };
    const tick = () => {
      const now = performance.now();
      while (scheduled < total && t0 + scheduled * interval <= now) {
        queue.push({ i: scheduled, at: t0 + scheduled * interval });
        scheduled++;
      }
      result.maxQueued = Math.max(result.maxQueued, queue.length);
      pump();
      if (scheduled < total) setTimeout(tick, Math.max(0, t0 + scheduled * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}

/** Merges phases of the same path (e.g. the two halves of an ABBA order). */
export function mergeResults(parts: readonly LoadResult[]): LoadResult {
  return {
    offered: parts.reduce((n, p) => n + p.offered, 0),
    ok: parts.reduce((n, p) => n + p.ok, 0),
    failed: parts.reduce((n, p) => n + p.failed, 0),
    elapsedMs: parts.reduce((n, p) => n + p.elapsedMs, 0),
    latencies: parts.flatMap((p) => p.latencies),
    serviceTimes: parts.flatMap((p) => p.serviceTimes),
    maxQueued: Math.max(0, ...parts.map((p) => p.maxQueued)),
  };
}

/** Nearest-rank percentile of `values` (0 < p <= 100); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function throughput(r: LoadResult): number {
  return r.elapsedMs > 0 ? (r.ok * 1000) / r.elapsedMs : 0;
}
