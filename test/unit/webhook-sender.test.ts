/**
 * One signed attempt (src/webhooks/sender.ts): the Standard Webhooks headers, verified with the
 * `standardwebhooks` library as a receiver would, and how failures are reported.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../../src/webhooks/secret.js';
import { sendWebhook } from '../../src/webhooks/sender.js';

describe('sendWebhook', () => {
  const secret = newWebhookSecret();
  const body = JSON.stringify({ type: 'events.changed', accountId: 'acc', changes: [], cursor: '1' });

  it('secrets are whsec_ and base64 of 32 bytes', () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
  });

  it('POSTs the body with headers a Standard Webhooks receiver verifies', async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const fetch = (async (url: string, init: RequestInit) => {
      seen = { url, init };
      return new Response(null, { status: 204 });
    }) as unknown as typeof globalThis.fetch;
    const r = await sendWebhook(
      { url: 'https://hooks.example.com/x', secret, msgId: 'msg_1', body, timeoutMs: 1000 },
      { fetch },
    );
    expect(r).toMatchObject({ ok: true, status: 204, error: null, outcome: 'ok' });
    const headers = seen?.init.headers as Record<string, string>;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(seen?.init.body as string, headers)).toEqual(JSON.parse(body));
    // Another secret does not verify it.
    expect(() => new Webhook(newWebhookSecret()).verify(seen?.init.body as string, headers)).toThrow();
  });

  it('reports a non-2xx answer with its status and the start of its body', async () => {
    const fetch = (async () =>
      new Response('overloaded', { status: 503 })) as unknown as typeof globalThis.fetch;
    const r = await sendWebhook(
      { url: 'https://h.example.com', secret, msgId: 'm', body, timeoutMs: 1000 },
      { fetch },
    );
    expect(r).toMatchObject({ ok: false, status: 503, error: 'HTTP 503: overloaded', outcome: 'http_error' });
  });

  it('reports a network error without a status', async () => {
    const r = await sendWebhook({ url: 'http://127.0.0.1:1/', secret, msgId: 'm', body, timeoutMs: 5000 });
    expect(r.ok).toBe(false);
    expect(r.status).toBeNull();
    expect(r.error).toMatch(/fetch failed|ECONNREFUSED/);
    expect(r.outcome).toBe('network');
  });

  it('tells a timeout from the caller cancelling', async () => {
    // Answers only when aborted, as a hanging receiver would.
    const fetch = ((_url: string, init: RequestInit) =>
      new Promise((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )) as unknown as typeof globalThis.fetch;
    const timedOut = await sendWebhook(
      { url: 'https://h.example.com', secret, msgId: 'm', body, timeoutMs: 50 },
      { fetch },
    );
    expect(timedOut).toMatchObject({
      ok: false,
      status: null,
      outcome: 'timeout',
      error: 'timed out after 50 ms',
    });
    const controller = new AbortController();
    const pending = sendWebhook(
      {
        url: 'https://h.example.com',
        secret,
        msgId: 'm',
        body,
        timeoutMs: 60_000,
        signal: controller.signal,
      },
      { fetch },
    );
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, status: null, outcome: 'cancelled' });
  });
});
