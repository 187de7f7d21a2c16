/**
 * The change feed's retention, run by every worker process: at start and then hourly, prunes what
 * is older than the retention (ChangeFeed.pruneAll). Several workers doing it at once is harmless:
 * each step is conditional, so the second finds nothing left to do.
 */
import type { Logger } from '../logger.js';
import type { ChangeFeed } from './change-feed.js';

export const FEED_PRUNE_INTERVAL_MS = 3_600_000;

export function startFeedRetention(
  feed: Pick<ChangeFeed, 'pruneAll'>,
  retentionMs: number,
  log: Pick<Logger, 'info' | 'warn'>,
  opts: { intervalMs?: number; now?: () => Date } = {},
): { stop(): Promise<void> } {
  const now = opts.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = (async () => {
      try {
        const r = await feed.pruneAll(new Date(now().getTime() - retentionMs));
        if (r.entries > 0) log.info(r, 'change feed: pruned what is older than the retention');
      } catch (err) {
        log.warn({ err }, 'change feed retention failed; trying again at the next interval');
      }
    })();
  };
  run();
  const timer = setInterval(run, opts.intervalMs ?? FEED_PRUNE_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
