/** How a failing webhook message is retried (src/workflows/webhook-retry.ts). */
import { describe, expect, it } from 'vitest';
import { deliveryOptions, remainingWindow } from '../../src/workflows/webhook-retry.js';

const retry = { windowMs: 86_400_000, initialIntervalMs: 5_000, maxIntervalMs: 3_600_000 };

describe('webhook retries', () => {
  it("a message's first attempt runs alone (its failure shows `failing`)", () => {
    expect(deliveryOptions(retry, 10_000)).toEqual({
      startToCloseTimeout: 40_000,
      retry: { maximumAttempts: 1 },
    });
  });

  it('then retries with exponential backoff for what remains of the window', () => {
    expect(deliveryOptions(retry, 10_000, 3_600_000)).toEqual({
      startToCloseTimeout: 40_000,
      scheduleToCloseTimeout: 3_600_000,
      retry: { initialInterval: 5_000, backoffCoefficient: 2, maximumInterval: 3_600_000 },
    });
  });

  it('counts the window from the first failure, down to zero', () => {
    const since = 1_000_000;
    expect(remainingWindow(retry, since, since)).toBe(86_400_000);
    expect(remainingWindow(retry, since, since + 86_000_000)).toBe(400_000);
    expect(remainingWindow(retry, since, since + 90_000_000)).toBe(0);
  });

  it('gives a nearly spent window one more try of at least a second', () => {
    expect(deliveryOptions(retry, 10_000, 0).scheduleToCloseTimeout).toBe(1_000);
  });
});
