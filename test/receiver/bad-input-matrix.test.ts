/**
 * The bad-input matrix through `app.inject()` against the real `buildServer`, with a recording fake
 * of `workflows.notify`: every case gets exactly its status and `{error, message}` body, nothing is
 * signalled unless the case is a valid notification, no secret or signature comes back, and the
 * server keeps serving afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_CT, type MatrixCase, matrix, sensitive } from './cases.js';
import {
  callbackUrl,
  changeBody,
  metricValue,
  type RawResponse,
  type ReceiverApp,
  rawRequest,
  receiverApp,
  sign,
} from './support.js';

const ACCOUNT = 'acc_matrix-1';
const MATRIX = matrix(ACCOUNT);
const SENSITIVE = sensitive(ACCOUNT);
const pathFor = (c: MatrixCase) => `/cronofy/notifications/${c.segment ?? ACCOUNT}`;

describe('receiver bad-input matrix (inject, recording fake)', () => {
  let r: ReceiverApp;
  let baseUrl: string;
  beforeAll(async () => {
    r = await receiverApp({ logLevel: 'debug' });
    baseUrl = await r.app.listen({ host: '127.0.0.1', port: 0 });
  });

  /** `inject()`, except for cases whose raw path `inject()` would normalise. */
  async function send(c: MatrixCase): Promise<RawResponse> {
    const request = { method: c.method ?? 'POST', path: pathFor(c), headers: c.headers, body: c.body };
    if (c.rawPath) return rawRequest(baseUrl, request);
    const res = await r.app.inject({
      method: request.method,
      url: request.path,
      headers: c.headers,
      payload: c.body,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }
  afterAll(async () => {
    await r?.app.close();
  });

  it('has at least 25 rejecting cases', () => {
    expect(MATRIX.filter((c) => c.status >= 400).length).toBeGreaterThanOrEqual(25);
  });

  it.each(MATRIX.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = r.workflows.calls.length;
    const failuresBefore = c.reason
      ? await metricValue(r.metrics, 'cronofy_notification_verification_failures_total', { reason: c.reason })
      : 0;
    const res = await send(c);

    expect(res.status, res.body).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    const body = JSON.parse(res.body) as Record<string, unknown>;
    if (c.status >= 400) {
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(body.error).toBe(c.error);
      expect(body.message).toMatch(c.message ?? /./);
    } else {
      expect(body).toMatchObject({ status: 'accepted', signalled: c.signalled === true });
    }
    for (const secret of SENSITIVE) expect(res.body).not.toContain(secret);

    const calls = r.workflows.calls.slice(before);
    if (c.signalled) {
      expect(calls).toHaveLength(1);
      expect(calls[0]?.accountId).toBe(ACCOUNT);
    } else {
      expect(calls).toEqual([]);
    }
    if (c.reason) {
      const failures = await metricValue(r.metrics, 'cronofy_notification_verification_failures_total', {
        reason: c.reason,
      });
      expect(failures).toBe(failuresBefore + 1);
    }
  });

  it('hands over exactly what the workflow needs, whatever else the body carries', async () => {
    const byChannel = (id: string) => r.workflows.calls.find((call) => call.signal.channelId === id)?.signal;
    // From the matrix cases above: extra fields, unicode, __proto__.
    expect(byChannel('chn_extra')).toEqual({
      type: 'change',
      changesSince: '2026-03-01T10:00:00Z',
      channelId: 'chn_extra',
      receivedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
    expect(byChannel('chn_ünï_😀_مرحبا')).toBeDefined();
    expect(byChannel('chn_proto')).toBeDefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (const call of r.workflows.calls) expect(call.timeoutMs).toBe(r.config.http.signalTimeoutMs);
  });

  it('hands over every type the workflow acts on, with its fields', async () => {
    const types = ['verification', 'change', 'profile_disconnected', 'profile_initial_sync_completed'];
    for (const type of types) {
      const body =
        type === 'change'
          ? changeBody({ channelId: `chn_${type}`, accountId: ACCOUNT })
          : JSON.stringify({
              notification: { type },
              channel: { channel_id: `chn_${type}`, callback_url: callbackUrl(ACCOUNT) },
            });
      const res = await r.app.inject({
        method: 'POST',
        url: `/cronofy/notifications/${ACCOUNT}`,
        headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
        payload: body,
      });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({ status: 'accepted', type, signalled: true });
      const signal = r.workflows.calls.at(-1)?.signal;
      expect(signal).toMatchObject({ type, channelId: `chn_${type}` });
      expect(signal?.changesSince).toBe(type === 'change' ? '2026-03-01T10:00:00Z' : undefined);
    }
  });

  it('answers 503 with retry-after when the hand-off fails, and nothing is signalled', async () => {
    const before = r.workflows.calls.length;
    r.workflows.fail = new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233');
    try {
      const body = changeBody({ accountId: ACCOUNT });
      const res = await r.app.inject({
        method: 'POST',
        url: `/cronofy/notifications/${ACCOUNT}`,
        headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
        payload: body,
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toEqual({ error: 'temporal_unavailable', message: expect.stringMatching(/retry/) });
      expect(res.body).not.toContain('ECONNREFUSED');
    } finally {
      r.workflows.fail = undefined;
    }
    expect(r.workflows.calls.length).toBe(before);
  });

  it('answers 503 at the signal timeout even when the hand-off never settles', async () => {
    r.workflows.hang = true;
    try {
      const body = changeBody({ accountId: ACCOUNT });
      const started = performance.now();
      const res = await r.app.inject({
        method: 'POST',
        url: `/cronofy/notifications/${ACCOUNT}`,
        headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
        payload: body,
      });
      const ms = performance.now() - started;
      expect(res.statusCode).toBe(503);
      // The hand-off never settles, so only the signal timeout can have answered: not before it,
      // and recorded as a timeout (no upper bound in wall-clock time: a loaded machine is slower).
      expect(ms).toBeGreaterThanOrEqual(r.config.http.signalTimeoutMs - 5);
      const text = (await r.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toMatch(/cronofy_signal_with_start_seconds_count\{outcome="timeout"\} 1/);
    } finally {
      r.workflows.hang = false;
    }
  });

  it('still serves after the whole matrix: a valid notification, /healthz and /metrics', async () => {
    const body = changeBody({ channelId: 'chn_after', accountId: ACCOUNT });
    const res = await r.app.inject({
      method: 'POST',
      url: `/cronofy/notifications/${ACCOUNT}`,
      headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    expect(r.workflows.calls.at(-1)?.signal.channelId).toBe('chn_after');
    expect((await r.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    const text = (await r.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/cronofy_notifications_total\{status="401",type="none"\} \d+/);
    expect(text).toMatch(/cronofy_notifications_total\{status="413",type="none"\} 1/);
    expect(text).toMatch(/cronofy_notifications_total\{status="415",type="none"\} 4/);
    expect(text).toMatch(/cronofy_notifications_total\{status="202",type="other"\} 1/);
    expect(text).toMatch(/cronofy_notifications_total\{status="202",type="gdpr_requested"\} 1/);
    expect(text).toMatch(/cronofy_notifications_total\{status="503",type="change"\} 2/);
    expect(text).toMatch(/cronofy_notification_secret_matched_total\{secret_index="1"\} 1/);
    expect(text).toMatch(/cronofy_signal_with_start_seconds_count\{outcome="ok"\} \d+/);
    expect(text).toMatch(/cronofy_signal_with_start_seconds_count\{outcome="error"\} 1/);
    for (const reason of ['missing_header', 'malformed_header', 'mismatch']) {
      expect(text).toContain(`cronofy_notification_verification_failures_total{reason="${reason}"}`);
    }
  });
});
