/**
 * One Cronofy budget for every worker of a task queue. Cronofy limits the application (50/s and
 * 500/min by default), not a process; each worker renews a lease in MongoDB (`workers`) and
 * runs its rate limiter on 1/N of the budget, N = the live leases. When a worker joins or leaves,
 * the others follow within one renewal interval; a worker that dies stops counting after its
 * lease's TTL.
 */
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

export interface BudgetShareDeps {
  leases: { renew(now?: Date): Promise<number>; release(): Promise<void> };
  limiter: { setShare(share: number): void };
  intervalMs: number;
  log: Logger;
  metrics?: Metrics;
}

export interface BudgetShare {
  /** Workers sharing the budget at the last renewal (at least this one). */
  workers(): number;
  stop(): Promise<void>;
}

export async function startBudgetShare(d: BudgetShareDeps): Promise<BudgetShare> {
  let workers = 1;
  const renew = async () => {
    try {
      const n = Math.max(1, await d.leases.renew());
      if (n !== workers) d.log.info({ workers: n }, 'Cronofy budget now shared by %d worker(s)', n);
      workers = n;
      d.limiter.setShare(1 / n);
      d.metrics?.budgetWorkers.set(n);
    } catch (err) {
      // MongoDB briefly away: keep the last share rather than guess.
      d.log.warn({ err, workers }, 'could not renew the worker lease; keeping the current budget share');
    }
  };
  await renew();
  const timer = setInterval(() => void renew(), d.intervalMs);
  timer.unref();
  return {
    workers: () => workers,
    async stop() {
      clearInterval(timer);
      await d.leases.release().catch((err) => d.log.warn({ err }, 'could not release the worker lease'));
    },
  };
}
