import { describe, expect, it } from 'vitest';
import { createRetryGate } from '../../src/temporal/connection.js';

describe('RetryGate (closing a Temporal connection with retries scheduled)', () => {
  it('allows retries until closing begins, then refuses them', async () => {
    const gate = createRetryGate(() => 0);
    expect(gate.allow()).toBe(true);
    await gate.drain(0);
    expect(gate.allow()).toBe(false);
  });

  it('drain waits until the last scheduled retry is due', async () => {
    let t = 1_000;
    const gate = createRetryGate(() => t);
    gate.scheduled(120);
    gate.scheduled(40); // an earlier one does not shorten the wait
    t = 1_010;
    const started = performance.now();
    await gate.drain(0);
    // 110 ms left of the 120 ms retry; timers may fire a little early or late.
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('drain returns at once when every scheduled retry already ran', async () => {
    let t = 0;
    const gate = createRetryGate(() => t);
    gate.scheduled(100);
    t = 500;
    const started = performance.now();
    await gate.drain(0);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
