/** `/healthz` (process up), `/readyz` (Temporal and MongoDB reachable), `/metrics` (Prometheus). */
import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../lib/timeout.js';
import type { Metrics } from '../metrics.js';

/** Each check resolves `true` when its server answers; a rejection or a slow answer is "not ready". */
export interface Readiness {
  temporal(): Promise<boolean>;
  mongo(): Promise<boolean>;
}

const READY_TIMEOUT_MS = 1500;

const check = (p: Promise<boolean>): Promise<boolean> =>
  withTimeout(
    p.catch(() => false),
    READY_TIMEOUT_MS,
    () => false,
  );

export async function healthRoutes(app: FastifyInstance, deps: { metrics: Metrics; readiness: Readiness }) {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is up' } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'Temporal and MongoDB are reachable' } },
    async (_req, reply) => {
      const [temporal, mongo] = await Promise.all([
        check(deps.readiness.temporal()),
        check(deps.readiness.mongo()),
      ]);
      const ready = temporal && mongo;
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', temporal, mongo });
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics' } },
    async (_req, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}
