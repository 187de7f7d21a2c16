/**
 * The service's Temporal worker as a process of its own, so the chaos scenario can SIGKILL it in
 * the middle of a sync and start a fresh one. Configured from the environment exactly like
 * `npm run start:worker` (it calls the same `startWorker`), plus:
 *   CHAOS_WORKFLOW_BUNDLE  path of a prebuilt workflow bundle (bundling in every new process
 *                          would cost seconds of CPU in the middle of the chaos).
 * Started with an IPC channel: sends `{ type: 'ready' }` once it polls its task queue, and exits
 * when the parent goes away (the channel closes), so a crashed test leaves no worker behind.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { startWorker } from '../../../src/runtime.js';

const config = loadConfig(process.env);
const logger = createLogger(config.logLevel);
const bundlePath = process.env.CHAOS_WORKFLOW_BUNDLE;
const workflowBundle = bundlePath ? { code: readFileSync(bundlePath, 'utf8') } : undefined;

process.on('disconnect', () => process.exit(0));

try {
  const worker = await startWorker(config, { logger, workflowBundle });
  process.send?.({ type: 'ready', pid: process.pid });
  worker.done.then(
    () => process.exit(0),
    (err: unknown) => {
      logger.fatal({ err }, 'chaos worker stopped with an error');
      process.exit(1);
    },
  );
  process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
} catch (err) {
  logger.fatal({ err }, 'chaos worker could not start');
  process.exit(1);
}
