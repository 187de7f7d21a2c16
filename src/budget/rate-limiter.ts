/**
 * Rate limiter for Cronofy calls: at most `perSecond` calls in any sliding second and `perMinute`
 * in any sliding minute (Cronofy's default budget is 50/s and 500/min per application). Sliding
 * windows, not token buckets: Cronofy counts the requests of the last minute, and a bucket of 500
 * refilled at 500/min lets up to 1,000 through in a minute after a quiet spell — each one over
 * the budget comes back as a 429.
 *
 * `urgent` callers (notification-driven syncs) may use the whole window; `background` callers
 * (periodic syncs, channel checks) leave `reserveFraction` of it for urgent work, so a weekly full
 * sync of many accounts never delays a change notification.
 *
 * With several worker processes, each runs its own limiter on a share of the budget
 * (`setShare(1 / workers)`, kept current by ./shares.ts), so together they stay inside it.
 *
 * A wait can be abandoned (`acquire(priority, signal)`): the caller's activity was cancelled or timed
 * out. It then rejects at once and takes no slot, so it spends none of the budget.
 *
 * The clock and the sleep are injected: the decisions are pure and unit-tested without waiting.
 */
export type CallPriority = 'urgent' | 'background';

export interface RateLimiterOptions {
  perSecond: number;
  perMinute: number;
  reserveFraction?: number;
  now?: () => number;
  /** Resolves after `ms`; may end early when `signal` aborts (acquire stops waiting either way). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The start times of the calls of the last `ms` milliseconds, oldest first. */
class Window {
  private times: number[] = [];
  private head = 0;

  constructor(
    readonly ms: number,
    readonly limit: number,
  ) {}

  /** Drops the calls that left the window; returns how many remain. */
  count(now: number): number {
    while (this.head < this.times.length && this.times[this.head]! <= now - this.ms) this.head++;
    // Compact now and then so the array stays about `limit` long.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  /** Milliseconds until fewer than `allowed` (≥ 1) calls are in the window (0 = now). */
  delay(now: number, allowed: number): number {
    const n = this.count(now);
    if (n < allowed) return 0;
    // Once the (n - allowed + 1) oldest calls have left, allowed - 1 remain.
    return this.times[this.head + n - allowed]! + this.ms - now;
  }

  record(now: number): void {
    this.times.push(now);
  }
}

export class RateLimiter {
  private readonly windows: Window[];
  private readonly reserve: number;
  private share = 1;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Milliseconds callers spent waiting, for the rate-limit-wait metric. */
  waitedMs = 0;

  constructor(opts: RateLimiterOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? abortableSleep;
    this.reserve = opts.reserveFraction ?? 0.2;
    this.windows = [new Window(1_000, opts.perSecond), new Window(60_000, opts.perMinute)];
  }

  /**
   * This process's share of the budget, in (0, 1]: each window admits `limit × share` calls (at
   * least one). Calls already made stay counted, so a smaller share takes effect as they age out.
   */
  setShare(share: number): void {
    if (!(share > 0 && share <= 1)) throw new RangeError(`budget share must be in (0, 1]; got ${share}`);
    this.share = share;
  }

  /** Calls of this priority a window admits. */
  private allowed(w: Window, priority: CallPriority): number {
    const limit = Math.max(1, Math.floor(w.limit * this.share));
    return priority === 'background' ? Math.max(1, Math.floor(limit * (1 - this.reserve))) : limit;
  }

  /** How long a caller of this priority must wait before a call may start (0 = now). */
  delayFor(priority: CallPriority): number {
    const now = this.now();
    let wait = 0;
    for (const w of this.windows) wait = Math.max(wait, w.delay(now, this.allowed(w, priority)));
    return wait;
  }

  tryTake(priority: CallPriority): boolean {
    if (this.delayFor(priority) > 0) return false;
    const now = this.now();
    for (const w of this.windows) w.record(now);
    return true;
  }

  /**
   * Waits until a call of this priority may start, takes its slot and resolves to the milliseconds
   * waited. When `signal` aborts (before or during the wait) it rejects with the signal's reason
   * and takes no slot: a cancelled caller must not spend budget or delay the callers behind it.
   */
  async acquire(priority: CallPriority, signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (;;) {
      signal?.throwIfAborted();
      if (this.tryTake(priority)) {
        this.waitedMs += waited;
        return waited;
      }
      const d = Math.max(1, this.delayFor(priority));
      waited += d;
      await (signal ? untilAborted(this.sleep(d, signal), signal) : this.sleep(d));
    }
  }
}

/** The default sleep: its timer is cleared when `signal` aborts, so nothing lingers. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `p`, or a rejection with the signal's reason as soon as it aborts (an injected sleep may ignore it). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
