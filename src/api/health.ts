/**
 * `/healthz` (process up), `/readyz` (the full API: Temporal and MongoDB reachable),
 * `/readyz/receiver` (the receiver alone: Temporal reachable) and `/metrics` (Prometheus; on the
 * internal listener instead when `INTERNAL_PORT` is set, see server.ts).
 *
 * Two readiness probes because the roles need different things: the receiver only hands
 * notifications to Temporal, so a MongoDB outage must not pull healthy receivers out of a load
 * balancer; the admin and read API needs both.
 */
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

export async function healthRoutes(app: FastifyInstance, deps: { readiness: Readiness }) {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is up' } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'The full API is ready: Temporal and MongoDB are reachable',
      },
    },
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
    '/readyz/receiver',
    {
      schema: {
        tags: ['health'],
        summary: 'The receiver is ready: Temporal is reachable (MongoDB is not needed to take pushes)',
      },
    },
    async (_req, reply) => {
      const temporal = await check(deps.readiness.temporal());
      return reply.code(temporal ? 200 : 503).send({ status: temporal ? 'ready' : 'not_ready', temporal });
    },
  );
}

export async function metricsRoute(app: FastifyInstance, deps: { metrics: Metrics }) {
  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics' } },
    async (_req, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}
