import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRetryGate } from '../../src/temporal/connection.js';

describe('RetryGate (closing a Temporal connection with retries scheduled)', () => {
  it('allows retries until closing begins, then refuses them', async () => {
    const gate = createRetryGate(() => 0);
    expect(gate.allow()).toBe(true);
    await gate.drain(0);
    expect(gate.allow()).toBe(false);
  });

  // Fake timers: what is checked is which timer drain waits for, not how fast this machine is.
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drain waits until the last scheduled retry is due', async () => {
    vi.useFakeTimers();
    let t = 1_000;
    const gate = createRetryGate(() => t);
    gate.scheduled(120);
    gate.scheduled(40); // an earlier one does not shorten the wait
    t = 1_010;
    let drained = false;
    const done = gate.drain(0).then(() => {
      drained = true;
    });
    await vi.advanceTimersByTimeAsync(109); // 110 ms left of the 120 ms retry
    expect(drained).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(drained).toBe(true);
  });

  it('drain returns at once when every scheduled retry already ran', async () => {
    vi.useFakeTimers();
    let t = 0;
    const gate = createRetryGate(() => t);
    gate.scheduled(100);
    t = 500;
    let drained = false;
    const done = gate.drain(0).then(() => {
      drained = true;
    });
    await vi.advanceTimersByTimeAsync(0); // no timer needs to fire
    await done;
    expect(drained).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
