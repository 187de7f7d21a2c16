/**
 * Webhook signing secrets in the Standard Webhooks format: `whsec_` and the base64 of the key,
 * which any Standard Webhooks library (`new Webhook(secret)`) takes as is. 32 random bytes: the
 * HMAC-SHA256 key size (the specification asks for 24 to 64).
 */
import { randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** Webhook ids: `wh_` and 20 random hex digits (URL-safe, no lookup needed to tell them apart). */
export function newWebhookId(): string {
  return `wh_${randomBytes(10).toString('hex')}`;
}

/** Message ids (`webhook-id`): fixed when a message is built, kept by every retry of it. */
export function newMessageId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}
