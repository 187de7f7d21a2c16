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
import { ref } from './schemas.js';

/** Each check resolves `true` when its server answers; a rejection or a slow answer is "not ready". */
export interface Readiness {
  temporal(): Promise<boolean>;
  mongo(): Promise<boolean>;
}

const READY_TIMEOUT_MS = 1500;

export const healthSchema = {
  $id: 'Health',
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok'] } },
  required: ['status'],
  example: { status: 'ok' },
} as const;

export const readinessSchema = {
  $id: 'Readiness',
  type: 'object',
  description: 'Each dependency: whether it answered within 1.5 s',
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    temporal: { type: 'boolean' },
    mongo: { type: 'boolean' },
  },
  required: ['status', 'temporal', 'mongo'],
  example: { status: 'not_ready', temporal: true, mongo: false },
} as const;

export const receiverReadinessSchema = {
  $id: 'ReceiverReadiness',
  type: 'object',
  properties: { status: { type: 'string', enum: ['ready', 'not_ready'] }, temporal: { type: 'boolean' } },
  required: ['status', 'temporal'],
  example: { status: 'ready', temporal: true },
} as const;

const check = (p: Promise<boolean>): Promise<boolean> =>
  withTimeout(
    p.catch(() => false),
    READY_TIMEOUT_MS,
    () => false,
  );

export async function healthRoutes(app: FastifyInstance, deps: { readiness: Readiness }) {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['health'],
        summary: 'The process is up',
        response: { 200: ref('Health', 'The process answers') },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'The full API is ready: Temporal and MongoDB are reachable',
        response: {
          200: ref('Readiness', 'Temporal and MongoDB answered'),
          503: ref('Readiness', 'Temporal or MongoDB did not answer (`false`)'),
        },
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
        operationId: 'getReceiverReadiness',
        tags: ['health'],
        summary: 'The receiver is ready: Temporal is reachable (MongoDB is not needed to take pushes)',
        response: {
          200: ref('ReceiverReadiness', 'Temporal answered'),
          503: ref('ReceiverReadiness', 'Temporal did not answer'),
        },
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
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['health'],
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: {
          200: {
            type: 'string',
            description: 'The Prometheus text exposition format (`text/plain; version=0.0.4`)',
            example: '# HELP cronofy_notifications_total ...\n',
          },
        },
      },
    },
    async (_req, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}
