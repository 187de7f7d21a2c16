/**
 * One role of the service (`api` or `worker`) in its own process, for the benchmarks: exactly
 * `startApi` / `startWorker` from src/runtime.ts, configured from the environment like
 * `npm run start:api|start:worker`, with logs at LOG_LEVEL to `$BENCH_SERVICE_LOG` (default
 * /dev/null). Talks to the bench over IPC: `ready` once serving; on request its memory and CPU
 * (`process.memoryUsage`, V8 heap, worker cache) and a CPU profile. Exits when the bench goes away.
 *   node --import tsx bench/lib/service-process.ts api|worker
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { type ApiRuntime, startApi, startWorker, type WorkerRuntime } from '../../src/runtime.js';

export type ServiceRequest =
  | { kind: 'stats' }
  | { kind: 'profile-start' }
  | { kind: 'profile-stop'; file: string };

export interface ServiceStats {
  memory: NodeJS.MemoryUsage;
  heapLimit: number;
  cpuMs: number;
  /** Worker only. */
  worker?: {
    cachedWorkflows: number;
    inFlightActivities: number;
    inFlightActivations: number;
    state: string;
  };
}

export type ServiceMessage =
  | { kind: 'ready'; url: string }
  | { kind: 'stats'; stats: ServiceStats }
  | { kind: 'profiled'; file: string }
  | { kind: 'failed'; error: string };

const role = process.argv[2];
if (role !== 'api' && role !== 'worker') {
  console.error('usage: service-process.ts api|worker');
  process.exit(2);
}
const send = (m: ServiceMessage) => process.send?.(m);

const config = loadConfig();
const logger = createLogger(
  config.logLevel,
  pino.destination({ dest: process.env.BENCH_SERVICE_LOG ?? '/dev/null', sync: false, mkdir: true }),
);

let api: ApiRuntime | undefined;
let worker: WorkerRuntime | undefined;
try {
  if (role === 'api') api = await startApi(config, { logger });
  else worker = await startWorker(config, { logger });
} catch (err) {
  send({ kind: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}
worker?.done.catch((err: unknown) => {
  logger.fatal({ err }, 'worker stopped with an error');
  process.exit(1);
});

let profiler: Session | undefined;
process.on('message', async (m: ServiceRequest) => {
  if (m.kind === 'stats') {
    const cpu = process.cpuUsage();
    const status = worker?.worker.getStatus();
    send({
      kind: 'stats',
      stats: {
        memory: process.memoryUsage(),
        heapLimit: v8.getHeapStatistics().heap_size_limit,
        cpuMs: (cpu.user + cpu.system) / 1000,
        ...(status
          ? {
              worker: {
                cachedWorkflows: status.numCachedWorkflows,
                inFlightActivities: status.numInFlightActivities,
                inFlightActivations: status.numInFlightWorkflowActivations,
                state: status.runState,
              },
            }
          : {}),
      },
    });
  } else if (m.kind === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
    await profiler.post('Profiler.start');
  } else if (m.kind === 'profile-stop' && profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(m.file, JSON.stringify(profile));
    profiler.disconnect();
    profiler = undefined;
    send({ kind: 'profiled', file: m.file });
  }
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(1), 30_000);
  timer.unref();
  await api?.close().catch(() => undefined);
  await worker?.close().catch(() => undefined);
  process.exit(0);
};
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

send({ kind: 'ready', url: api?.url ?? '' });
