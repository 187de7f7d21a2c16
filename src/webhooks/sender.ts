/**
 * One HTTP attempt of one message, signed per Standard Webhooks with the `standardwebhooks`
 * library: `webhook-id` (the message's, the same on every retry), `webhook-timestamp` and
 * `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
 *
 * The timestamp is the attempt's, not the message's first: receivers (the libraries' `verify`)
 * refuse timestamps more than 5 minutes off their clock against replay attacks, so a retry an
 * hour later must be signed anew. The id and the body bytes stay the same, and the id is what
 * receivers deduplicate on.
 */
import { Webhook } from 'standardwebhooks';
import type { WebhookAttemptOutcome } from '../metrics.js';

export interface AttemptResult {
  /** The HTTP status, or null when none came (timeout, connection refused, DNS). */
  status: number | null;
  error: string | null;
  latencyMs: number;
  ok: boolean;
  /**
   * How it ended: `ok` (2xx), `http_error` (any other status, redirects included), `timeout`
   * (`timeoutMs`), `network` (refused, DNS, reset), `cancelled` (the caller's signal).
   */
  outcome: WebhookAttemptOutcome;
}

export interface SendInput {
  url: string;
  secret: string;
  msgId: string;
  body: string;
  timeoutMs: number;
  /** The caller's cancellation (activity cancelled or timed out). */
  signal?: AbortSignal;
}

export function signedHeaders(secret: string, msgId: string, at: Date, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(msgId, at, body),
  };
}

/** How much of a failing answer's body is kept for the deliveries log. */
const ERROR_BODY_CHARS = 200;

export async function sendWebhook(
  input: SendInput,
  deps: { fetch?: typeof fetch; now?: () => Date } = {},
): Promise<AttemptResult> {
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? (() => new Date());
  const started = performance.now();
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
  const latency = () => Math.round(performance.now() - started);
  try {
    const res = await doFetch(input.url, {
      method: 'POST',
      headers: {
        ...signedHeaders(input.secret, input.msgId, now(), input.body),
        'user-agent': 'cronofy-sync',
      },
      body: input.body,
      redirect: 'manual',
      signal,
    });
    const ok = res.status >= 200 && res.status < 300;
    // Read (and bound) the body either way, so the connection can be reused.
    const text = await res.text().catch(() => '');
    return {
      status: res.status,
      ok,
      outcome: ok ? 'ok' : 'http_error',
      error: ok ? null : `HTTP ${res.status}${text ? `: ${text.slice(0, ERROR_BODY_CHARS)}` : ''}`,
      latencyMs: latency(),
    };
  } catch (err) {
    const cancelled = input.signal?.aborted === true;
    const timedOut = timeout.aborted && !cancelled;
    return {
      status: null,
      ok: false,
      outcome: timedOut ? 'timeout' : cancelled ? 'cancelled' : 'network',
      error: timedOut ? `timed out after ${input.timeoutMs} ms` : describe(err),
      latencyMs: latency(),
    };
  }
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message ?? 'fetch failed'} (${cause})` : (e.message ?? String(err));
}
