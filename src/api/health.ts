/** `/healthz` (process up), `/readyz` (Temporal and MongoDB reachable), `/metrics` (Prometheus). */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { Readiness } from './server.js';

const READY_TIMEOUT_MS = 1500;

async function within(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.catch(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function healthRoutes(app: FastifyInstance, deps: { metrics: Metrics; readiness: Readiness }) {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is up' } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'Temporal and MongoDB are reachable' } },
    async (_req, reply) => {
      const [temporal, mongo] = await Promise.all([
        within(deps.readiness.temporal(), READY_TIMEOUT_MS),
        within(deps.readiness.mongo(), READY_TIMEOUT_MS),
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
