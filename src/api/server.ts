/**
 * The HTTP app: receiver, health, metrics, the OpenAPI document (and the admin and read API when
 * its deps are given). Built by a factory from injected dependencies, so tests call
 * `app.inject()` with real or fake collaborators; `buildApp` (./app.ts) wires the real ones.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AccountWorkflows } from '../temporal/account-workflows.js';
import { frameworkErrors, installErrorHandlers } from './error-handler.js';
import { healthRoutes, type Readiness } from './health.js';
import { receiverRoutes } from './receiver.js';
import { accountsRoutes } from './routes/accounts.js';
import type { AdminDeps } from './routes/admin-deps.js';
import { eventsRoutes } from './routes/events.js';
import { oauthRoutes } from './routes/oauth.js';

export interface ServerDeps {
  config: Config;
  metrics: Metrics;
  /** The receiver only signals; the admin API gets the full gateway in `admin`. */
  workflows: Pick<AccountWorkflows, 'notify'>;
  readiness: Readiness;
  /** The admin and read API's collaborators; without them the app is the receiver alone. */
  admin?: AdminDeps;
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
  if (deps.admin) {
    // Each plugin adds its own bearer hook and strict validation, in its own scope.
    await app.register(accountsRoutes, deps.admin);
    await app.register(eventsRoutes, deps.admin);
    await app.register(oauthRoutes, deps.admin);
  }
  return app as unknown as FastifyInstance;
}
