/**
 * Open-loop pacing for changes made in-process (no request to wait for): calls `fire(i)` at
 * `rate` per second for `durationMs`, on schedule whatever `fire` costs, and records when each
 * call actually happened (so lateness of the generator itself is visible).
 */
import { sleep } from '../../scripts/lib/wait.js';

export interface Paced {
  fired: number;
  /** Latest a call ran after its scheduled time, ms. */
  maxLagMs: number;
  elapsedMs: number;
}

export async function paced(rate: number, durationMs: number, fire: (i: number) => void): Promise<Paced> {
  const total = Math.round((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const t0 = performance.now();
  let maxLagMs = 0;
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    fire(i);
  }
  return { fired: total, maxLagMs, elapsedMs: performance.now() - t0 };
}

/** Runs `fn` over `items` with at most `concurrency` in flight; resolves with results in order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}
