/**
 * The HTTP app: receiver, health, metrics (and the admin API when its deps are given).
 * Built by a factory from injected dependencies, so tests call `app.inject()` with real or fake
 * collaborators and production wires the real ones in `main.ts`.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AccountWorkflows } from '../temporal/account-workflows.js';
import { healthRoutes } from './health.js';
import { receiverRoutes } from './receiver.js';

export interface Readiness {
  temporal(): Promise<boolean>;
  mongo(): Promise<boolean>;
}

export interface ServerDeps {
  config: Config;
  metrics: Metrics;
  /** The receiver only signals; the admin API gets the full gateway through its own plugin. */
  workflows: Pick<AccountWorkflows, 'notify'>;
  readiness: Readiness;
  /** Extra route plugins (the admin API), registered after the core routes. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  logger: Logger;
}

/** Fastify's own client errors, mapped to the contract's statuses with our JSON body. */
const FASTIFY_ERRORS: Record<string, { status: number; error: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'Content-Type must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    error: 'invalid_content_length',
    message: 'the body length does not match Content-Length',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid_body', message: 'body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'invalid_body', message: 'body is not valid JSON' },
  FST_ERR_BAD_URL: { status: 400, error: 'invalid_url', message: 'the URL is not validly percent-encoded' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 400, error: 'invalid_url', message: 'a path segment is too long' },
};

/** An incoming `x-request-id` is kept when it is a plausible id; anything else gets a fresh UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * How long a client may take to send a whole request. Cronofy sends a small body at once; a
 * client that dribbles bytes is not Cronofy and must not hold a connection (Fastify's default: no limit).
 */
const REQUEST_TIMEOUT_MS = 10_000;

const NOTIFICATION_ROUTE = '/cronofy/notifications/:accountId';

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // Read `x-request-id` ourselves (genReqId) so an unusable value is replaced, not logged as is.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    },
    bodyLimit: 1024 * 1024,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Account ids are path segments; never let routing fold `..` or double slashes.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 512 },
    // Errors raised while routing (bad percent-encoding, over-long segment) skip the hooks and the
    // error handler: answer them in the same shape, with the request id.
    frameworkErrors: (err, req, res) => {
      const known = FASTIFY_ERRORS[err.code];
      req.log.info({ code: err.code }, 'request refused while routing');
      (res as FastifyReply)
        .code(known?.status ?? 400)
        .header('x-request-id', req.id)
        .send({
          error: known?.error ?? 'bad_request',
          message: known?.message ?? 'the request cannot be routed',
        });
    },
  });

  // Every answer, errors included, says which request it was: the id to find in the logs.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  // Graceful shutdown. close() closes the keep-alive connections that are idle when it starts;
  // a connection whose request is still in flight would otherwise stay open after its answer
  // until the keep-alive timeout, and close() would wait for it. Answers sent while closing say
  // `Connection: close`, so Node ends each such connection as soon as its request is answered.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.setErrorHandler((e, req, reply) => {
    const err = e as Error & { code?: string; statusCode?: number; validation?: unknown };
    const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    const status = known?.status ?? (err.statusCode && err.statusCode >= 400 ? err.statusCode : 500);
    if (req.routeOptions.url === NOTIFICATION_ROUTE) {
      deps.metrics.notifications.inc({ status: String(status), type: 'none' });
    }
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: err.code, status }, err.message);
    const error = known?.error ?? (err.validation ? 'invalid_request' : (err.code ?? 'error'));
    // Our own wording for Fastify's errors: theirs can quote request headers back.
    const message =
      status >= 500
        ? 'internal error'
        : status === 413
          ? `body is larger than ${req.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit} bytes`
          : (known?.message ?? err.message);
    reply.code(status).send({ error, message });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${shown}` });
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'cronofy-sync',
        description: 'Cronofy push receiver, and the admin and read API of cronofy-sync.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(async (scope) => receiverRoutes(scope, deps));
  await app.register(async (scope) => healthRoutes(scope, deps));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app as unknown as FastifyInstance;
}
