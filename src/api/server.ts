/**
 * The HTTP app: receiver, health, metrics, the OpenAPI document (and the admin and read API when
 * its deps are given). Built by a factory from injected dependencies, so tests call
 * `app.inject()` with real or fake collaborators; `buildApp` (./app.ts) wires the real ones.
 *
 * With `INTERNAL_PORT` set, `/metrics` and `/docs` leave the public app for a second, internal one
 * (`buildInternalServer`): the public port is what the load balancer exposes to Cronofy and the
 * world, and neither the process metrics nor the API's map belong there.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AccountWorkflows } from '../temporal/account-workflows.js';
import { mongoUnavailable } from './api-error.js';
import { addComponents, swaggerRefResolver } from './components.js';
import { frameworkErrors, installErrorHandlers } from './error-handler.js';
import { healthRoutes, metricsRoute, type Readiness } from './health.js';
import { receiverRoutes } from './receiver.js';
import { accountsRoutes } from './routes/accounts.js';
import { accountsListRoutes } from './routes/accounts-list.js';
import type { AdminDeps } from './routes/admin-deps.js';
import { calendarsRoutes } from './routes/calendars.js';
import { changesRoutes } from './routes/changes.js';
import { eventsRoutes } from './routes/events.js';
import { oauthRoutes } from './routes/oauth.js';
import { webhooksRoutes } from './routes/webhooks.js';

export interface ServerDeps {
  config: Config;
  metrics: Metrics;
  /** The receiver only signals; the admin API gets the full gateway in `admin`. */
  workflows: Pick<AccountWorkflows, 'notify'>;
  readiness: Readiness;
  /** The admin and read API's collaborators; without them the app is the receiver alone. */
  admin?: AdminDeps;
  /**
   * Whether MongoDB has answered (and its indexes exist). Until it does, the admin and read API
   * answers 503 `mongo_unavailable`; the receiver, which needs only Temporal, is unaffected.
   */
  storeReady?: () => boolean;
  logger: Logger;
}

/** An incoming `x-request-id` is kept when it is a plausible id; anything else gets a fresh UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * How long a client may take to send a whole request. Cronofy sends a small body at once; a
 * client that dribbles bytes is not Cronofy and must not hold a connection (Fastify's default: no limit).
 */
const REQUEST_TIMEOUT_MS = 10_000;

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
    // Errors raised while routing skip the hooks and the error handler: answered in the same shape.
    frameworkErrors: (err, req, res) => frameworkErrors(err, req, res as FastifyReply),
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

  installErrorHandlers(app, deps);

  // The document is generated from this app's routes either way; only where it is served moves.
  const internal = deps.config.http.internalPort !== undefined;
  await app.register(swagger, {
    refResolver: swaggerRefResolver,
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
  if (!internal) await app.register(swaggerUi, { routePrefix: '/docs' });
  // Before the routes: their responses refer to these by `$id`.
  addComponents(app);

  await app.register(async (scope) => receiverRoutes(scope, deps));
  await app.register(async (scope) => healthRoutes(scope, deps));
  if (!internal) await app.register(async (scope) => metricsRoute(scope, deps));
  const admin = deps.admin;
  if (admin) {
    await app.register(async (scope) => {
      const storeReady = deps.storeReady;
      // preHandler runs after each plugin's bearer check (onRequest) and validation: a caller
      // without the token learns nothing about MongoDB.
      if (storeReady) {
        scope.addHook('preHandler', async () => {
          if (!storeReady()) throw mongoUnavailable();
        });
      }
      // Each plugin adds its own bearer hook and strict validation, in its own scope.
      await scope.register(accountsRoutes, admin);
      await scope.register(accountsListRoutes, admin);
      await scope.register(eventsRoutes, admin);
      await scope.register(calendarsRoutes, admin);
      await scope.register(changesRoutes, admin);
      await scope.register(oauthRoutes, admin);
      const webhookApi = admin.webhookApi;
      if (webhookApi) await scope.register(webhooksRoutes, { ...admin, webhookApi });
    });
  }
  return app as unknown as FastifyInstance;
}

/**
 * The internal listener (`INTERNAL_PORT`): `/metrics`, `/docs` (the public app's OpenAPI document,
 * generated from its routes) and `/healthz`. Built after the public app is ready, from its document.
 */
export async function buildInternalServer(deps: {
  metrics: Metrics;
  logger: Logger;
  openapi: Record<string, unknown>;
}): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger, requestTimeout: REQUEST_TIMEOUT_MS });
  installErrorHandlers(app, deps);
  await app.register(swagger, { mode: 'static', specification: { document: deps.openapi as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(async (scope) => metricsRoute(scope, deps));
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app as unknown as FastifyInstance;
}
