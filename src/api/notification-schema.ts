/**
 * The JSON schema of a Cronofy push body. It validates (the receiver parses the raw body itself,
 * after the HMAC check, so Fastify's body validation cannot run) and documents (OpenAPI).
 * Extra properties are allowed everywhere: Cronofy adds fields without notice.
 */
import { Ajv } from 'ajv';
import type { CronofyNotificationBody } from '../cronofy/types.js';
import { isIsoTime } from '../lib/time.js';

export const notificationBodySchema = {
  $id: 'CronofyNotification',
  type: 'object',
  description:
    'A Cronofy push notification (signed with `Cronofy-HMAC-SHA256`); fields beyond these are allowed',
  required: ['notification', 'channel'],
  properties: {
    notification: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { type: 'string', minLength: 1, maxLength: 100 },
        changes_since: { type: 'string', format: 'date-time' },
      },
    },
    channel: {
      type: 'object',
      // `callback_url` is what binds a signed body to its account: required (see receiver.ts).
      required: ['channel_id', 'callback_url'],
      properties: {
        channel_id: { type: 'string', minLength: 1, maxLength: 200 },
        callback_url: { type: 'string', minLength: 1, maxLength: 2048 },
        filters: { type: 'object' },
      },
    },
  },
  example: {
    notification: { type: 'change', changes_since: '2026-05-01T09:58:00Z' },
    channel: {
      channel_id: 'chn_54cf7c7cb4ad4c1027000001',
      callback_url: 'https://sync.example.com/cronofy/notifications/user-42',
      filters: {},
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: true });
ajv.addFormat('date-time', {
  type: 'string',
  // `changes_since` must be a real time; checked without the ajv-formats dependency.
  validate: isIsoTime,
});
const validate = ajv.compile<CronofyNotificationBody>(notificationBodySchema);

export type BodyCheck = { ok: true; body: CronofyNotificationBody } | { ok: false; error: string };

/** JSON is UTF-8 (RFC 8259): invalid bytes are an error, not silently replaced by U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function checkNotificationBody(raw: Buffer): BodyCheck {
  if (raw.length === 0) return { ok: false, error: 'body is empty' };
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { ok: false, error: 'body is not valid UTF-8' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: 'body is not valid JSON' };
  }
  if (!validate(parsed)) {
    const e = validate.errors?.[0];
    return { ok: false, error: `body ${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}` };
  }
  return { ok: true, body: parsed };
}
