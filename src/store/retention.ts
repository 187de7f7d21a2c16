/**
 * Retention of the downstream logs (the change feed, the account updates), run by every worker
 * process: at start and then hourly, each task prunes what is older than the retention. Several
 * workers doing it at once is harmless: each step is conditional, so the second finds nothing left.
 */
import type { Logger } from '../logger.js';

export const RETENTION_INTERVAL_MS = 3_600_000;

/** One log's retention: removes what changed before `cutoff`, returns counts for the log line. */
export type RetentionTask = (cutoff: Date) => Promise<Record<string, number>>;

export function startRetention(
  tasks: readonly RetentionTask[],
  retentionMs: number,
  log: Pick<Logger, 'info' | 'warn'>,
  opts: { intervalMs?: number; now?: () => Date } = {},
): { stop(): Promise<void> } {
  const now = opts.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = (async () => {
      const cutoff = new Date(now().getTime() - retentionMs);
      for (const task of tasks) {
        try {
          const r = await task(cutoff);
          if (Object.values(r).some((v) => v > 0))
            log.info(r, 'retention: pruned what is older than FEED_RETENTION');
        } catch (err) {
          log.warn({ err }, 'retention failed; trying again at the next interval');
        }
      }
    })();
  };
  run();
  const timer = setInterval(run, opts.intervalMs ?? RETENTION_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
