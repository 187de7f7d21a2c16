/**
 * `npm run services`: the local Temporal dev server (search attributes registered, Web UI) on
 * 127.0.0.1:7233 / :8233 and a MongoDB-protocol server on 127.0.0.1:27017, with their data under
 * ./.data/ so it persists between runs. Stays in the foreground until Ctrl-C, then stops both.
 *
 *   --logs   show the servers' output here instead of writing it to .data/logs/
 *
 * MONGODB_URI, when set, is used instead of running a MongoDB-protocol server.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findOnPath,
  installServers,
  type LogTarget,
  type MongoServer,
  startMongo,
  startTemporalDevServer,
  type TemporalDevServer,
} from './lib/servers.js';

const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;
const MONGO_PORT = 27017;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(repoRoot, '.data');
const showLogs = process.argv.includes('--logs');
const logTo = (name: string): LogTarget => (showLogs ? 'inherit' : path.join(dataDir, 'logs', `${name}.log`));
const relative = (p: string) => path.relative(process.cwd(), p) || '.';

let temporal: TemporalDevServer | undefined;
let mongo: MongoServer | undefined;
let stopping = false;

async function stopAll(exitCode: number): Promise<never> {
  stopping = true;
  await Promise.allSettled([temporal?.stop(), mongo?.stop()]);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) {
        console.error('\nStill stopping; press Ctrl-C again to quit at once.');
        process.exit(130);
      }
      console.error('\nStopping...');
      void stopAll(0);
    });
  }

  await installServers();
  // mongod and FerretDB keep incompatible files: one directory each.
  const mongoDir = path.join(dataDir, findOnPath('mongod') ? 'mongod' : 'ferretdb');
  const started = await Promise.allSettled([
    startTemporalDevServer({
      port: TEMPORAL_PORT,
      uiPort: TEMPORAL_UI_PORT,
      dbFile: path.join(dataDir, 'temporal', 'temporal.db'),
      log: logTo('temporal'),
    }),
    startMongo({
      port: MONGO_PORT,
      dataDir: mongoDir,
      log: logTo('mongo'),
    }),
  ]);
  if (started[0].status === 'fulfilled') temporal = started[0].value;
  if (started[1].status === 'fulfilled') mongo = started[1].value;
  const failures = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0 || !temporal || !mongo) {
    for (const err of failures) console.error(err instanceof Error ? err.message : err);
    await stopAll(1);
    return;
  }

  const lines = [
    `Temporal gRPC     ${temporal.address}  (namespace ${temporal.namespace}; state in ${relative(temporal.dbFile ?? '')})`,
    `Temporal Web UI   ${temporal.uiUrl}`,
    mongo.kind === 'mongodb-uri'
      ? `MongoDB           ${mongo.uri}  (MONGODB_URI, not started here)`
      : `MongoDB           ${mongo.uri}  (${mongo.kind}; data in ${relative(mongo.dataDir ?? '')})`,
    showLogs ? 'Server output follows.' : `Server logs       ${relative(path.join(dataDir, 'logs'))}/`,
    'Press Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));

  // Leave (non-zero) when a server dies on its own instead of pretending all is well.
  const watchdog = setInterval(() => {
    if (stopping) return;
    const dead = [
      temporal?.running === false ? 'Temporal dev server' : undefined,
      mongo?.running === false ? `MongoDB-protocol server (${mongo.kind})` : undefined,
    ].filter(Boolean);
    if (dead.length > 0) {
      clearInterval(watchdog);
      console.error(`${dead.join(' and ')} stopped unexpectedly; see the logs. Stopping.`);
      void stopAll(1);
    }
  }, 1_000);
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  await stopAll(1);
});
