/**
 * `POST /cronofy/notifications/:accountId`: the callback URL Cronofy calls.
 *
 * Order matters: HMAC over the raw bytes first (an unsigned request learns nothing, and nothing is
 * signalled), then the body, then that the signed body was sent for this account, then the durable
 * hand-off to the account's workflow.
 *
 * Cronofy's signature carries no timestamp or nonce, so a captured push replays and still verifies.
 * What it does sign is `channel.callback_url`, the URL the channel was created with: comparing its
 * path suffix with the path's account id confines a replay to the account it was sent for (403
 * otherwise), where the workflow coalesces it. Answers 202 only
 * once the signal is accepted by Temporal, so a 2xx means nothing can be lost; Temporal trouble is
 * 503 within `signalTimeoutMs` (a hard cap, see `handOffTimeout`) so Cronofy retries well inside its
 * 5-second limit. No database work happens here: channel checks belong to the workflow.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { verifyCronofyHmac } from '../cronofy/hmac.js';
import { KNOWN_NOTIFICATION_TYPES } from '../cronofy/types.js';
import { ACCOUNT_ID_RE, accountIdOfCallbackUrl } from '../domain.js';
import { withTimeout } from '../lib/timeout.js';
import type { Metrics } from '../metrics.js';
import type { AccountWorkflows } from '../temporal/account-workflows.js';
import { checkNotificationBody } from './notification-schema.js';
import { ref } from './schemas.js';

export interface ReceiverDeps {
  config: Config;
  metrics: Metrics;
  workflows: Pick<AccountWorkflows, 'notify'>;
}

/** The route's URL template; the server's error handler counts its failures by it. */
export const NOTIFICATION_ROUTE = '/cronofy/notifications/:accountId';

/** Types the workflow acts on; others are acknowledged and logged. */
const SIGNALLED_TYPES: ReadonlySet<string> = new Set([
  'change',
  'verification',
  'profile_disconnected',
  'profile_initial_sync_completed',
]);
/** Metric label for a type: known ones by name, anything else `other` (bounded label values). */
const KNOWN_TYPES: ReadonlySet<string> = new Set(KNOWN_NOTIFICATION_TYPES);
const typeLabel = (type: string): string => (KNOWN_TYPES.has(type) ? type : 'other');

class HandOffTimeout extends Error {
  override name = 'HandOffTimeout';
}

/**
 * The hand-off is capped with `withTimeout`, the clock started before `notify` runs. The gRPC
 * deadline alone does not bound the call: the Temporal client's retry interceptor sleeps between
 * attempts without looking at the deadline, so a refused connection can take ~1.3 s to fail with
 * an 800 ms deadline. The cap makes the answer time ours. A signal still in flight when the cap
 * fires may yet land; Cronofy then retries the 503 and the workflow coalesces the duplicate.
 */
const handOffTimeout = (ms: number) => (): never => {
  throw new HandOffTimeout(`no answer from Temporal within ${ms} ms`);
};

export const notificationAcceptedSchema = {
  $id: 'NotificationAccepted',
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['accepted'] },
    type: { type: 'string', description: "The notification's type" },
    signalled: { type: 'boolean', description: 'false: a type the workflow does not act on (only logged)' },
  },
  example: { status: 'accepted', type: 'change', signalled: true },
} as const;

/**
 * The route validates nothing itself: the body is checked by `checkNotificationBody` only after
 * the HMAC (Fastify's validation would run first, on the raw bytes), and the account id by
 * ACCOUNT_ID_RE, after it too. The schemas are there for the OpenAPI document.
 */
const documentationOnly = () => () => true;

export async function receiverRoutes(app: FastifyInstance, deps: ReceiverDeps): Promise<void> {
  const { config, metrics } = deps;

  // The raw bytes are what Cronofy signed; parse JSON ourselves only after verifying them.
  // Registered in this plugin's scope only: the admin API keeps Fastify's JSON parser.
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(
    ['application/json'],
    { parseAs: 'buffer', bodyLimit: config.http.maxBodyBytes },
    (_req, body, done) => done(null, body),
  );

  const reply4xx = (reply: FastifyReply, status: number, error: string, message: string, type = 'none') => {
    metrics.notifications.inc({ status: String(status), type });
    return reply.code(status).send({ error, message });
  };

  app.post<{ Params: { accountId: string } }>(
    NOTIFICATION_ROUTE,
    {
      bodyLimit: config.http.maxBodyBytes,
      validatorCompiler: documentationOnly,
      schema: {
        operationId: 'receiveNotification',
        summary: 'Cronofy push notification callback',
        description:
          'Called by Cronofy. Verifies `Cronofy-HMAC-SHA256` over the raw body, then hands the notification to the account workflow (signal-with-start).',
        tags: ['cronofy'],
        params: { type: 'object', properties: { accountId: { type: 'string' } }, required: ['accountId'] },
        body: { $ref: 'CronofyNotification#' },
        headers: {
          type: 'object',
          properties: {
            'cronofy-hmac-sha256': {
              type: 'string',
              description: 'Base64 HMAC-SHA256 values, comma-separated',
            },
          },
        },
        response: {
          202: ref(
            'NotificationAccepted',
            'Handed to the account workflow (`signalled: true`), or a type it does not act on',
          ),
          400: ref(
            'Error',
            'Not a valid push (`invalid_body`, `invalid_account_id`, `invalid_content_length`)',
          ),
          401: ref('Error', '`Cronofy-HMAC-SHA256` missing or not matching (`invalid_signature`)'),
          403: ref('Error', 'The signed `channel.callback_url` names another account (`account_mismatch`)'),
          413: ref('Error', 'Body larger than NOTIFICATION_MAX_BYTES (`payload_too_large`)'),
          415: ref('Error', 'Not `application/json` (`unsupported_media_type`)'),
          503: ref(
            'Error',
            'Temporal did not take it in time; retry (`temporal_unavailable`, `Retry-After`)',
          ),
        },
      },
    },
    async (req: FastifyRequest<{ Params: { accountId: string } }>, reply) => {
      const receivedAt = new Date().toISOString();
      const raw = req.body;
      if (!Buffer.isBuffer(raw)) {
        return reply4xx(reply, 415, 'unsupported_media_type', 'Content-Type must be application/json');
      }
      const verdict = verifyCronofyHmac(
        raw,
        req.headers['cronofy-hmac-sha256'],
        config.cronofy.clientSecrets,
      );
      if (!verdict.ok) {
        metrics.verificationFailures.inc({ reason: verdict.reason });
        req.log.warn({ reason: verdict.reason }, 'notification signature rejected');
        return reply4xx(reply, 401, 'invalid_signature', 'Cronofy-HMAC-SHA256 is missing or does not match');
      }
      metrics.secretMatched.inc({ secret_index: String(verdict.secretIndex) });

      const { accountId } = req.params;
      if (!ACCOUNT_ID_RE.test(accountId)) {
        return reply4xx(reply, 400, 'invalid_account_id', 'account id has invalid characters or length');
      }
      const checked = checkNotificationBody(raw);
      if (!checked.ok) return reply4xx(reply, 400, 'invalid_body', checked.error);

      const { notification, channel } = checked.body;
      const type = notification.type;
      const label = typeLabel(type);
      // The schema requires `callback_url`; a body signed for another account (or for no account
      // of ours) reaches neither Temporal nor the log of accepted pushes.
      if (accountIdOfCallbackUrl(channel.callback_url ?? '') !== accountId) {
        req.log.warn({ accountId, type, channelId: channel.channel_id }, 'signed push names another account');
        return reply4xx(
          reply,
          403,
          'account_mismatch',
          'the signed channel.callback_url does not name this account',
          label,
        );
      }
      if (!SIGNALLED_TYPES.has(type)) {
        req.log.info(
          { accountId, type, channelId: channel.channel_id },
          'notification type not acted on; acknowledged',
        );
        metrics.notifications.inc({ status: '202', type: label });
        return reply.code(202).send({ status: 'accepted', type, signalled: false });
      }

      const started = performance.now();
      try {
        const signal = {
          type,
          changesSince: notification.changes_since,
          channelId: channel.channel_id,
          receivedAt,
        };
        const timeoutMs = config.http.signalTimeoutMs;
        await withTimeout(
          () => deps.workflows.notify(accountId, signal, timeoutMs),
          timeoutMs,
          handOffTimeout(timeoutMs),
        );
        metrics.signalLatency.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      } catch (err) {
        const outcome = err instanceof HandOffTimeout ? 'timeout' : 'error';
        metrics.signalLatency.observe({ outcome }, (performance.now() - started) / 1000);
        req.log.error({ err, accountId, type }, 'could not hand notification to Temporal');
        reply.header('retry-after', '5');
        return reply4xx(
          reply,
          503,
          'temporal_unavailable',
          'could not record the notification; retry later',
          label,
        );
      }
      req.log.info({ accountId, type, channelId: channel.channel_id }, 'notification accepted');
      metrics.notifications.inc({ status: '202', type: label });
      return reply.code(202).send({ status: 'accepted', type, signalled: true });
    },
  );
}
