/**
 * The receiver as its own process for `bench/receiver.ts`: the production `buildServer` with a
 * real Temporal client (lazy connection, as `startApi` makes it) and info-level pino logs written
 * synchronously to /dev/null (the cost of logging without a terminal). No MongoDB: the receiver
 * never touches it. Configured from the environment like the service; reports its URL and, on
 * request, its CPU time over IPC. Started with `node --import tsx bench/receiver-server.ts`.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { buildServer } from '../src/api/server.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { AccountWorkflows } from '../src/temporal/account-workflows.js';

export type ReceiverServerMessage =
  | { kind: 'listening'; url: string }
  | { kind: 'cpu'; userMs: number; systemMs: number }
  | { kind: 'profiled'; file: string };

const config = loadConfig();
const connection = Connection.lazy({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const workflows = new AccountWorkflows({
  client,
  taskQueue: config.temporal.taskQueue,
  timings: config.timings,
  publicUrl: config.http.publicUrl,
});
const app = await buildServer({
  config,
  metrics: createMetrics({ defaultMetrics: true }),
  workflows,
  readiness: { temporal: async () => true, mongo: async () => true },
  logger: createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: true })),
});
const url = await app.listen({ host: config.http.host, port: config.http.port });

const send = (m: ReceiverServerMessage) => process.send?.(m);
send({ kind: 'listening', url });
let inspector: Session | undefined;
process.on('message', async (m: { kind?: string; file?: string }) => {
  if (m.kind === 'cpu') {
    const u = process.cpuUsage();
    send({ kind: 'cpu', userMs: u.user / 1000, systemMs: u.system / 1000 });
  } else if (m.kind === 'profile-start') {
    inspector = new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  } else if (m.kind === 'profile-stop' && inspector && m.file) {
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(m.file, JSON.stringify(profile));
    inspector.disconnect();
    send({ kind: 'profiled', file: m.file });
  }
});
const stop = async () => {
  await app.close();
  await connection.close().catch(() => undefined);
  process.exit(0);
};
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
