/**
 * The benchmark's open-loop generator (bench/lib/load.ts): it offers the rate whatever the answers
 * do, never exceeds its concurrency, and counts queueing in latency (no coordinated omission).
 */
import { describe, expect, it } from 'vitest';
import { percentile, runOpenLoop, throughput } from '../../bench/lib/load.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runOpenLoop', () => {
  it('sends every scheduled request at the offered rate when slots are free', async () => {
    const started: number[] = [];
    const r = await runOpenLoop({
      rate: 100,
      durationMs: 300,
      concurrency: 8,
      fire: async () => {
        started.push(performance.now());
        await sleep(10);
        return true;
      },
    });
    expect([r.offered, r.ok, r.failed]).toEqual([30, 30, 0]);
    const span = started.at(-1)! - started[0]!;
    expect(span).toBeGreaterThan(250);
    expect(span).toBeLessThan(600);
    expect(percentile(r.latencies, 50)).toBeLessThan(100);
    expect(throughput(r)).toBeGreaterThan(50);
  });

  it('caps concurrency and charges the wait to latency', async () => {
    let inFlight = 0;
    let most = 0;
    const r = await runOpenLoop({
      rate: 200,
      durationMs: 100,
      concurrency: 2,
      fire: async (i) => {
        most = Math.max(most, ++inFlight);
        await sleep(20);
        inFlight--;
        return i % 5 !== 0;
      },
      firstIndex: 1,
    });
    expect(most).toBe(2);
    expect([r.ok, r.failed]).toEqual([16, 4]);
    expect(r.maxQueued).toBeGreaterThan(0);
    // 20 requests every 5 ms, 2 at a time, 20 ms each: the last is scheduled at 95 ms but answered
    // at ~200 ms, a latency of ~105 ms although each request took 20 ms.
    expect(percentile(r.latencies, 100)).toBeGreaterThan(80);
    expect(percentile(r.serviceTimes, 100)).toBeLessThan(150);
  });

  it('nearest-rank percentiles', () => {
    const v = [...Array(100).keys()].map((i) => i + 1);
    expect([percentile(v, 50), percentile(v, 99), percentile(v, 100)]).toEqual([50, 99, 100]);
    expect(percentile([], 50)).toBeNaN();
  });
});
