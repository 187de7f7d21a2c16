/**
 * Two-level token bucket for Cronofy calls (per second and per minute, Cronofy's default budget is
 * 50/s and 500/min per application). `urgent` callers (notification-driven syncs) may use the whole
 * bucket; `background` callers (periodic syncs, channel checks) leave `reserveFraction` of it for
 * urgent work, so a weekly full sync of many accounts never delays a change notification.
 *
 * The clock and the sleep are injected: the decisions are pure and unit-tested without waiting.
 */
export type CallPriority = 'urgent' | 'background';

export interface RateLimiterOptions {
  perSecond: number;
  perMinute: number;
  reserveFraction?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Bucket {
  capacity: number;
  tokens: number;
  refillPerMs: number;
  updatedAt: number;
}

function refill(b: Bucket, now: number): void {
  b.tokens = Math.min(b.capacity, b.tokens + (now - b.updatedAt) * b.refillPerMs);
  b.updatedAt = now;
}

export class RateLimiter {
  private readonly buckets: Bucket[];
  private readonly reserve: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Milliseconds callers spent waiting, for the rate-limit-wait metric. */
  waitedMs = 0;

  constructor(opts: RateLimiterOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.reserve = opts.reserveFraction ?? 0.2;
    const t = this.now();
    this.buckets = [
      { capacity: opts.perSecond, tokens: opts.perSecond, refillPerMs: opts.perSecond / 1000, updatedAt: t },
      {
        capacity: opts.perMinute,
        tokens: opts.perMinute,
        refillPerMs: opts.perMinute / 60_000,
        updatedAt: t,
      },
    ];
  }

  /** How long a caller of this priority must wait before a call may start (0 = now). Pure. */
  delayFor(priority: CallPriority): number {
    const now = this.now();
    let wait = 0;
    for (const b of this.buckets) {
      refill(b, now);
      const floor = priority === 'background' ? b.capacity * this.reserve : 0;
      const needed = floor + 1 - b.tokens;
      if (needed > 0) wait = Math.max(wait, Math.ceil(needed / b.refillPerMs));
    }
    return wait;
  }

  tryTake(priority: CallPriority): boolean {
    if (this.delayFor(priority) > 0) return false;
    for (const b of this.buckets) b.tokens -= 1;
    return true;
  }

  async acquire(priority: CallPriority): Promise<number> {
    let waited = 0;
    for (;;) {
      if (this.tryTake(priority)) {
        this.waitedMs += waited;
        return waited;
      }
      const d = Math.max(1, this.delayFor(priority));
      waited += d;
      await this.sleep(d);
    }
  }
}
