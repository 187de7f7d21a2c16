/**
 * Capacity model: how many accounts fit in a Cronofy rate budget. Pure (no I/O, no clock, seeded
 * randomness), so it is unit-tested and `bench/capacity-sim.ts` only prints what it computes.
 *
 * Two parts:
 * - `weeklyDemand`: the mean Cronofy calls per account and week, by kind, in closed form.
 * - `simulateWeek`: one simulated week of every account's calls, from the real scheduler
 *   (`nextFullSyncAt` / `nextWindowEdgeAt`, per-account jitter), notification episodes with a
 *   working-hours profile, debounce coalescing, channel checks after 24 h without a sign of life,
 *   and the 401 + refresh round trip of an expired access token, served by the real `RateLimiter`
 *   (urgent = notification syncs, background = periodic syncs and channel checks, which leave
 *   `reserveFraction` of each window to urgent work). Reports demand, queueing delay and backlog.
 */
import { RateLimiter } from '../../src/budget/rate-limiter.js';
import { nextFullSyncAt, nextWindowEdgeAt } from '../../src/workflows/schedule.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const WEEK = 7 * DAY;

export interface Workload {
  /** Accounts that receive change notifications. */
  activeAccounts: number;
  /** Accounts that never change (a channel, periodic syncs, checks; no notifications). */
  idleAccounts: number;
  /**
   * Change episodes per active account per day. An episode is one user action; Cronofy may push
   * several notifications for it within seconds, which the debounce turns into one sync.
   */
  episodesPerDay: number;
  /** Notifications per episode (only the receiver sees these; syncs do not depend on it). */
  notificationsPerEpisode: number;
  /** Events in an account's sync window (-42 d to +201 d). */
  eventsPerAccount: number;
  /** Read Events page size (Cronofy's is unknown; ~100 is plausible). */
  pageSize: number;
  /**
   * Rate during weekday working hours (08:00–18:00 UTC, Mon–Fri: 50 of 168 hours) relative to the
   * weekly mean; the rest of the week gets what is left. 1 = flat. At most 168/50 = 3.36. Every
   * account is put in one time zone: the worst case for the peak.
   */
  peakToMean: number;
}

export interface Budget {
  perSecond: number;
  perMinute: number;
  /** Share of each window background calls leave for urgent ones (RateLimiter default 0.2). */
  reserveFraction: number;
}

export interface ModelTimings {
  debounceQuietMs: number;
  debounceMaxMs: number;
  fullSyncIntervalMs: number;
  windowEdgeIntervalMs: number;
  channelCheckIntervalMs: number;
  /** Access token lifetime (Cronofy: 3600 s). */
  accessTokenTtlMs: number;
}

export interface ModelOptions {
  /**
   * How an expired access token is handled: `proactive` (what the service does: refresh first when
   * the stored expiry has passed, 1 extra request; the default), `on-401` (the call fails with 401,
   * then refresh, then the call again: 2 extra; the service before it stored the expiry), `free`
   * (refresh not counted against the budget).
   */
  refresh: 'on-401' | 'proactive' | 'free';
}

export const DEFAULT_BUDGET: Budget = { perSecond: 50, perMinute: 500, reserveFraction: 0.2 };

export const DEFAULT_MODEL_TIMINGS: ModelTimings = {
  debounceQuietMs: 2_000,
  debounceMaxMs: 15_000,
  fullSyncIntervalMs: WEEK,
  windowEdgeIntervalMs: WEEK,
  channelCheckIntervalMs: DAY,
  accessTokenTtlMs: HOUR,
};

export const PEAK_HOURS_PER_WEEK = 50;

/** Pages one full sync reads (at least one request even for an empty calendar). */
export function fullSyncPages(w: Pick<Workload, 'eventsPerAccount' | 'pageSize'>): number {
  return Math.max(1, Math.ceil(w.eventsPerAccount / w.pageSize));
}

/** Pages one window-edge sync (+194 d to +201 d: 7 of the window's 243 days) reads. */
export function windowEdgePages(w: Pick<Workload, 'eventsPerAccount' | 'pageSize'>): number {
  return Math.max(1, Math.ceil((w.eventsPerAccount * 7) / 243 / w.pageSize));
}

/** Weight of the notification rate at `t` (epoch ms); its mean over a week is 1. */
export function diurnalWeight(t: number, peakToMean: number): number {
  const p = Math.min(Math.max(peakToMean, 0), 168 / PEAK_HOURS_PER_WEEK);
  // 1970-01-01 was a Thursday (UTC day 4); arithmetic instead of Date keeps the simulation fast.
  const days = Math.floor(t / DAY);
  const weekday = (((days + 4) % 7) + 7) % 7;
  const hour = Math.floor((t - days * DAY) / HOUR);
  if (weekday >= 1 && weekday <= 5 && hour >= 8 && hour < 18) return p;
  return (168 - PEAK_HOURS_PER_WEEK * p) / (168 - PEAK_HOURS_PER_WEEK);
}

export interface WeeklyDemand {
  incremental: number;
  full: number;
  windowEdge: number;
  channelChecks: number;
  /** 401s and token refreshes. */
  refresh: number;
  total: number;
}

/**
 * Mean Cronofy requests per account and week, in closed form. Channel checks: a check is due
 * 24 h after the last notification or check, so with Poisson episodes at rate r per day a day
 * passes without one with probability e^-r (flat profile; the simulation uses the real profile).
 * Refreshes: every wake-up more than a token lifetime after the previous call pays the refresh.
 */
export function weeklyDemand(
  w: Pick<Workload, 'episodesPerDay' | 'eventsPerAccount' | 'pageSize'>,
  t: ModelTimings = DEFAULT_MODEL_TIMINGS,
  o: ModelOptions = { refresh: 'proactive' },
): WeeklyDemand {
  const incremental = w.episodesPerDay * 7;
  const full = (fullSyncPages(w) * WEEK) / t.fullSyncIntervalMs;
  const windowEdge = (windowEdgePages(w) * WEEK) / t.windowEdgeIntervalMs;
  const checksPerWeek = WEEK / t.channelCheckIntervalMs;
  const rPerInterval = (w.episodesPerDay * t.channelCheckIntervalMs) / DAY;
  const channelChecks = checksPerWeek * Math.exp(-rPerInterval);
  // Wake-ups that find an expired token: every scheduled one (their gaps are days), plus
  // notification syncs that come more than a token lifetime after the previous one.
  const rPerTtl = (w.episodesPerDay * t.accessTokenTtlMs) / DAY;
  const wakeups =
    WEEK / t.fullSyncIntervalMs +
    WEEK / t.windowEdgeIntervalMs +
    channelChecks +
    incremental * Math.exp(-rPerTtl);
  const perRefresh = o.refresh === 'on-401' ? 2 : o.refresh === 'proactive' ? 1 : 0;
  const refresh = wakeups * perRefresh;
  return {
    incremental,
    full,
    windowEdge,
    channelChecks,
    refresh,
    total: incremental + full + windowEdge + channelChecks + refresh,
  };
}

/** Sustained requests per week the budget allows (the per-minute window binds at Cronofy's default). */
export function weeklyBudget(b: Budget): number {
  return Math.min(b.perSecond * 60, b.perMinute) * (WEEK / MINUTE);
}

/** Accounts whose mean demand fills the budget (no peaks, no reserve): the upper bound. */
export function meanCapacity(w: Workload, b: Budget, t?: ModelTimings, o?: ModelOptions): number {
  const active = weeklyDemand(w, t, o).total;
  const idle = weeklyDemand({ ...w, episodesPerDay: 0 }, t, o).total;
  const share = w.activeAccounts + w.idleAccounts;
  // Scale the account mix: fraction of idle accounts stays as given.
  const idleShare = share > 0 ? w.idleAccounts / share : 0;
  const perAccount = (1 - idleShare) * active + idleShare * idle;
  return weeklyBudget(b) / perAccount;
}

// ---------------------------------------------------------------------------------------------
// Simulation

/** Mulberry32: small, fast, seeded; the same seed gives the same week. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulationInput {
  workload: Workload;
  budget: Budget;
  timings?: ModelTimings;
  options?: ModelOptions;
  /** Start of the simulated week (epoch ms); default Monday 2026-01-05 00:00 UTC. */
  startMs?: number;
  /** Time resolution of the queue, ms (default 100). */
  stepMs?: number;
  seed?: number;
  /** Account ids are `${idPrefix}${i}` (they decide the jitter of each account's slots). */
  idPrefix?: string;
}

export interface DelayStats {
  calls: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface SimulationResult {
  accounts: number;
  calls: {
    incremental: number;
    full: number;
    windowEdge: number;
    channelChecks: number;
    refresh: number;
    total: number;
  };
  notifications: number;
  episodes: number;
  /** Incremental syncs after debounce (episodes closer than the debounce merge). */
  syncs: number;
  demand: { meanPerSecond: number; peakPerMinute: number; peakPerSecond: number };
  /**
   * `peakPerMinute`: most calls served in a calendar minute; `peakSlidingMinute`/`peakSlidingSecond`:
   * the most in any sliding minute/second, as Cronofy counts them (the limiter keeps them in budget).
   */
  served: { peakPerMinute: number; total: number; peakSlidingMinute: number; peakSlidingSecond: number };
  /** Queueing delay before each call may start, ms. */
  urgentDelay: DelayStats;
  backgroundDelay: DelayStats;
  /** Calls still queued at the end of the week. */
  backlogAtEnd: { urgent: number; background: number };
  /** Per-minute demand and served calls over the week, for plots. */
  perMinute: { demandUrgent: Uint32Array; demandBackground: Uint32Array; served: Uint32Array };
}

/** Delay histogram in steps, with an overflow bucket; percentiles by nearest rank. */
class DelayHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private n = 0;
  private maxSteps = 0;
  constructor(
    private readonly stepMs: number,
    size: number,
  ) {
    this.counts = new Float64Array(size + 1);
  }
  add(steps: number, calls: number): void {
    this.counts[Math.min(steps, this.counts.length - 1)]! += calls;
    this.sum += steps * calls;
    this.n += calls;
    if (steps > this.maxSteps) this.maxSteps = steps;
  }
  stats(): DelayStats {
    const pct = (p: number) => {
      if (this.n === 0) return 0;
      const rank = Math.ceil((p / 100) * this.n);
      let acc = 0;
      for (let i = 0; i < this.counts.length; i++) {
        acc += this.counts[i]!;
        if (acc >= rank) return i === this.counts.length - 1 ? this.maxSteps * this.stepMs : i * this.stepMs;
      }
      return this.maxSteps * this.stepMs;
    };
    return {
      calls: this.n,
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
      max: this.maxSteps * this.stepMs,
      mean: this.n ? (this.sum / this.n) * this.stepMs : 0,
    };
  }
}

/** FIFO of (arrival step, calls) pairs. */
class CallQueue {
  private steps: Int32Array;
  private calls: Int32Array;
  private head = 0;
  private tail = 0;
  size = 0;
  constructor(capacity = 1024) {
    this.steps = new Int32Array(capacity);
    this.calls = new Int32Array(capacity);
  }
  push(step: number, calls: number): void {
    if (this.tail === this.steps.length) {
      const live = this.tail - this.head;
      const cap = Math.max(1024, live * 2);
      const s = new Int32Array(cap);
      const c = new Int32Array(cap);
      s.set(this.steps.subarray(this.head, this.tail));
      c.set(this.calls.subarray(this.head, this.tail));
      this.steps = s;
      this.calls = c;
      this.head = 0;
      this.tail = live;
    }
    this.steps[this.tail] = step;
    this.calls[this.tail] = calls;
    this.tail++;
    this.size += calls;
  }
  /** Takes one call; returns its arrival step. */
  take(): number {
    const step = this.steps[this.head]!;
    this.calls[this.head]! -= 1;
    if (this.calls[this.head] === 0) this.head++;
    this.size -= 1;
    return step;
  }
}

/**
 * One simulated week. Arrivals are binned per `stepMs` (demand arrays), then served step by step
 * through a RateLimiter whose clock is the simulation's: urgent calls first, then background ones
 * as far as the reserve allows, each queue FIFO.
 */
export function simulateWeek(input: SimulationInput): SimulationResult {
  const t = input.timings ?? DEFAULT_MODEL_TIMINGS;
  const o = input.options ?? { refresh: 'proactive' };
  const w = input.workload;
  const stepMs = input.stepMs ?? 100;
  const start = input.startMs ?? Date.UTC(2026, 0, 5);
  const steps = Math.ceil(WEEK / stepMs);
  const random = rng(input.seed ?? 1);
  const prefix = input.idPrefix ?? 'acc-';
  const urgentIn = new Uint32Array(steps);
  const backgroundIn = new Uint32Array(steps);
  const perRefresh = o.refresh === 'on-401' ? 2 : o.refresh === 'proactive' ? 1 : 0;
  const calls = { incremental: 0, full: 0, windowEdge: 0, channelChecks: 0, refresh: 0, total: 0 };
  let notifications = 0;
  let episodes = 0;
  let syncs = 0;
  const fullPages = fullSyncPages(w);
  const edgePages = windowEdgePages(w);
  const maxWeight = Math.max(
    diurnalWeight(start + 10 * HOUR, w.peakToMean),
    diurnalWeight(start, w.peakToMean),
  );
  const accounts = w.activeAccounts + w.idleAccounts;

  const stepOf = (ms: number) => Math.floor((ms - start) / stepMs);
  for (let i = 0; i < accounts; i++) {
    const id = `${prefix}${i}`;
    const active = i < w.activeAccounts;
    // Every call this account makes this week, in time order: [time, kind, pages].
    const wake: Array<[number, 'incremental' | 'full' | 'windowEdge' | 'channelChecks', number]> = [];
    // Periodic syncs on the account's jittered grid (the real scheduler).
    for (
      let s = nextFullSyncAt(id, start - 1, t.fullSyncIntervalMs);
      s < start + WEEK;
      s += t.fullSyncIntervalMs
    ) {
      wake.push([s, 'full', fullPages]);
    }
    for (
      let s = nextWindowEdgeAt(id, start - 1, t.windowEdgeIntervalMs);
      s < start + WEEK;
      s += t.windowEdgeIntervalMs
    ) {
      wake.push([s, 'windowEdge', edgePages]);
    }
    // Notification episodes: Poisson with the working-hours profile (thinning), then debounce.
    const notes: number[] = [];
    if (active && w.episodesPerDay > 0) {
      const peakRate = (w.episodesPerDay / DAY) * maxWeight; // per ms
      let now = start;
      for (;;) {
        now += -Math.log(1 - random()) / peakRate;
        if (now >= start + WEEK) break;
        if (random() * maxWeight <= diurnalWeight(now, w.peakToMean)) notes.push(now);
      }
      episodes += notes.length;
      notifications += notes.length * w.notificationsPerEpisode;
      let first = -1;
      let last = -1;
      for (const n of notes) {
        if (first >= 0 && n < Math.min(last + t.debounceQuietMs, first + t.debounceMaxMs)) {
          last = n;
          continue;
        }
        if (first >= 0)
          wake.push([Math.min(last + t.debounceQuietMs, first + t.debounceMaxMs), 'incremental', 1]);
        first = n;
        last = n;
      }
      if (first >= 0)
        wake.push([Math.min(last + t.debounceQuietMs, first + t.debounceMaxMs), 'incremental', 1]);
    }
    // Channel checks: due a check interval after the last notification or check. The account is
    // assumed to have had a sign of life at a random point of the day before the week starts.
    let lastSign = start - random() * t.channelCheckIntervalMs;
    let k = 0;
    for (;;) {
      const due = lastSign + t.channelCheckIntervalMs;
      while (k < notes.length && notes[k]! < due) lastSign = Math.max(lastSign, notes[k++]!);
      if (lastSign + t.channelCheckIntervalMs !== due) continue;
      if (due >= start + WEEK) break;
      wake.push([due, 'channelChecks', 1]);
      lastSign = due;
    }
    wake.sort((a, b) => a[0] - b[0]);
    // Token: valid for a lifetime after the last refresh; a wake-up after expiry pays the refresh.
    let tokenUntil = start - random() * t.accessTokenTtlMs + t.accessTokenTtlMs;
    for (const [at, kind, pages] of wake) {
      const step = stepOf(at);
      if (step < 0 || step >= steps) continue;
      let n = pages;
      if (kind === 'incremental') syncs++;
      if (at >= tokenUntil) {
        n += perRefresh;
        calls.refresh += perRefresh;
        tokenUntil = at + t.accessTokenTtlMs;
      }
      calls[kind] += pages;
      if (kind === 'incremental') urgentIn[step]! += n;
      else backgroundIn[step]! += n;
    }
  }
  calls.total = calls.incremental + calls.full + calls.windowEdge + calls.channelChecks + calls.refresh;

  // Serve.
  let clock = start;
  const limiter = new RateLimiter({
    perSecond: input.budget.perSecond,
    perMinute: input.budget.perMinute,
    reserveFraction: input.budget.reserveFraction,
    now: () => clock,
  });
  const urgentQ = new CallQueue();
  const backgroundQ = new CallQueue();
  const histSize = Math.ceil((10 * MINUTE) / stepMs);
  const urgentHist = new DelayHistogram(stepMs, histSize);
  const backgroundHist = new DelayHistogram(stepMs, Math.ceil(DAY / stepMs));
  const minutes = Math.ceil(WEEK / MINUTE);
  const perMinute = {
    demandUrgent: new Uint32Array(minutes),
    demandBackground: new Uint32Array(minutes),
    served: new Uint32Array(minutes),
  };
  const stepsPerMinute = MINUTE / stepMs;
  const stepsPerSecond = Math.max(1, Math.round(1000 / stepMs));
  // Calls served per step over the last minute (ring), and the sliding sums Cronofy counts: a
  // check on the limiter, which alone decides what is served.
  const ring = new Uint32Array(Math.max(stepsPerMinute, stepsPerSecond) + 1);
  let minuteSum = 0;
  let secondSum = 0;
  let peakSlidingMinute = 0;
  let peakSlidingSecond = 0;
  let servedTotal = 0;
  const served = (s: number, m: number) => {
    ring[s % ring.length]! += 1;
    peakSlidingMinute = Math.max(peakSlidingMinute, ++minuteSum);
    peakSlidingSecond = Math.max(peakSlidingSecond, ++secondSum);
    perMinute.served[m]! += 1;
    servedTotal++;
  };
  let peakPerSecond = 0;
  let secondDemand = 0;
  for (let s = 0; s < steps; s++) {
    clock = start + s * stepMs;
    if (s >= stepsPerMinute) minuteSum -= ring[(s - stepsPerMinute) % ring.length]!;
    if (s >= stepsPerSecond) secondSum -= ring[(s - stepsPerSecond) % ring.length]!;
    ring[s % ring.length] = 0;
    const m = Math.floor(s / stepsPerMinute);
    if (urgentIn[s]) {
      urgentQ.push(s, urgentIn[s]!);
      perMinute.demandUrgent[m]! += urgentIn[s]!;
    }
    if (backgroundIn[s]) {
      backgroundQ.push(s, backgroundIn[s]!);
      perMinute.demandBackground[m]! += backgroundIn[s]!;
    }
    secondDemand += urgentIn[s]! + backgroundIn[s]!;
    if ((s + 1) % stepsPerSecond === 0) {
      peakPerSecond = Math.max(peakPerSecond, secondDemand);
      secondDemand = 0;
    }
    while (urgentQ.size > 0 && limiter.tryTake('urgent')) {
      urgentHist.add(s - urgentQ.take(), 1);
      served(s, m);
    }
    while (backgroundQ.size > 0 && limiter.tryTake('background')) {
      backgroundHist.add(s - backgroundQ.take(), 1);
      served(s, m);
    }
  }
  // Whatever is still queued waited at least until the end of the week.
  const backlogAtEnd = { urgent: urgentQ.size, background: backgroundQ.size };
  while (urgentQ.size > 0) urgentHist.add(steps - urgentQ.take(), 1);
  while (backgroundQ.size > 0) backgroundHist.add(steps - backgroundQ.take(), 1);

  let peakPerMinute = 0;
  let peakServed = 0;
  for (let m = 0; m < minutes; m++) {
    peakPerMinute = Math.max(peakPerMinute, perMinute.demandUrgent[m]! + perMinute.demandBackground[m]!);
    peakServed = Math.max(peakServed, perMinute.served[m]!);
  }
  return {
    accounts,
    calls,
    notifications,
    episodes,
    syncs,
    demand: { meanPerSecond: calls.total / (WEEK / 1000), peakPerMinute, peakPerSecond },
    served: { peakPerMinute: peakServed, total: servedTotal, peakSlidingMinute, peakSlidingSecond },
    urgentDelay: urgentHist.stats(),
    backgroundDelay: backgroundHist.stats(),
    backlogAtEnd,
    perMinute,
  };
}
