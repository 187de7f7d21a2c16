/**
 * Process entry point: `node dist/main.js all|api|worker` (`npm start`, `start:api`, `start:worker`;
 * `tsx src/main.ts …` from the sources).
 * Invalid configuration stops the process with one line naming the variable.
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { type Closeable, serveMetrics, startApi, startWorker } from './runtime.js';
import { describeConnection } from './temporal/env-config.js';

const role = process.argv[2] ?? 'all';
if (!['all', 'api', 'worker'].includes(role)) {
  console.error(`usage: main.ts all|api|worker (got "${role}")`);
  process.exit(2);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, role as 'all' | 'api' | 'worker');
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`cronofy-sync: invalid configuration: ${err.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

const log = createLogger(config.logLevel);
log.info({ temporal: describeConnection(config.temporal.connection) }, 'Temporal connection');
const running: Closeable[] = [];

async function shutdown(signal: string): Promise<void> {
  log.info({ signal }, 'shutting down: finishing in-flight requests and activities');
  const timer = setTimeout(() => {
    log.error('graceful shutdown timed out; exiting');
    process.exit(1);
  }, 30_000);
  timer.unref();
  // API first (stop taking notifications), then the worker drains.
  for (const r of running) await r.close().catch((err) => log.error({ err }, 'error during shutdown'));
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

// One registry per process: with role `all` the API's /metrics shows the worker's metrics too.
const metrics = createMetrics({ defaultMetrics: true });
try {
  if (role === 'all' || role === 'api') {
    const api = await startApi(config, { logger: log, metrics });
    running.push(api);
    log.info(
      { url: api.url, internalUrl: api.internalUrl, publicUrl: config.http.publicUrl },
      'API listening',
    );
  }
  if (role === 'all' || role === 'worker') {
    const worker = await startWorker(config, { logger: log, metrics });
    running.push(worker);
    log.info({ taskQueue: config.temporal.taskQueue }, 'worker running');
    worker.done.catch((err) => {
      log.fatal({ err }, 'worker stopped with an error');
      process.exit(1);
    });
  }
  if (role === 'worker' && config.metricsPort !== undefined) {
    const server = await serveMetrics(metrics, config.metricsPort);
    running.push(server);
    log.info({ url: server.url }, 'worker metrics served');
  }
} catch (err) {
  log.fatal({ err }, 'could not start');
  process.exit(1);
}
