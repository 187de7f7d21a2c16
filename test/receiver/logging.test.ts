/**
 * Structured logs: every line of a request carries its request id (an incoming `x-request-id` is
 * kept when plausible, otherwise generated, and returned as a response header), and no signature,
 * secret, bearer token or body content reaches the log output, whatever the outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { JSON_CT } from './cases.js';
import {
  callbackUrl,
  changeBody,
  LogCapture,
  NEW_SECRET,
  OLD_SECRET,
  type ReceiverApp,
  receiverApp,
  sign,
  WRONG_SECRET,
} from './support.js';

const BODY_MARKER = 'BODY_MARKER_d41d8cd98f00b204';
const ADMIN_TOKEN = 'admin-token-that-must-not-be-logged-7f3a';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type LogLine = { reqId?: string; msg?: string; level: number; [k: string]: unknown };

describe('receiver logs', () => {
  let r: ReceiverApp;
  const parsed = () => r.logs.lines.map((l) => JSON.parse(l) as LogLine);
  beforeAll(async () => {
    r = await receiverApp({ logLevel: 'trace' });
  });
  afterAll(async () => {
    await r?.app.close();
  });

  const body = JSON.stringify({
    notification: { type: 'change', changes_since: '2026-03-01T10:00:00Z' },
    channel: { channel_id: 'chn_log', callback_url: callbackUrl('acc_log') },
    note: BODY_MARKER,
  });
  const post = (headers: Record<string, string>, payload: string = body, account = 'acc_log') =>
    r.app.inject({ method: 'POST', url: `/cronofy/notifications/${account}`, headers, payload });

  it('keeps a plausible x-request-id, returns it, and tags every log line of the request with it', async () => {
    const res = await post({
      'content-type': JSON_CT,
      'cronofy-hmac-sha256': sign(body),
      'x-request-id': 'cronofy-req-42',
    });
    expect(res.statusCode).toBe(202);
    expect(res.headers['x-request-id']).toBe('cronofy-req-42');
    const lines = parsed().filter((l) => l.reqId === 'cronofy-req-42');
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'notification accepted', 'request completed']),
    );
    expect(lines.find((l) => l.msg === 'notification accepted')).toMatchObject({
      accountId: 'acc_log',
      type: 'change',
      channelId: 'chn_log',
    });
  });

  it('generates an id when none or an unusable one is given', async () => {
    for (const given of [undefined, 'x'.repeat(300), 'has spaces in it', '<script>']) {
      const headers: Record<string, string> = { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) };
      if (given !== undefined) headers['x-request-id'] = given;
      const res = await post(headers);
      const id = res.headers['x-request-id'] as string;
      expect(id).toMatch(UUID);
      expect(parsed().some((l) => l.reqId === id && l.msg === 'request completed')).toBe(true);
    }
  });

  it('returns the id on errors raised by Fastify itself (415, 413) and by routing (400)', async () => {
    const a = await post({ 'content-type': 'text/plain', 'x-request-id': 'req-415' });
    expect([a.statusCode, a.headers['x-request-id']]).toEqual([415, 'req-415']);
    const b = await post({ 'content-type': JSON_CT, 'x-request-id': 'req-413' }, 'x'.repeat(5000));
    expect([b.statusCode, b.headers['x-request-id']]).toEqual([413, 'req-413']);
    const c = await r.app.inject({
      method: 'POST',
      url: '/cronofy/notifications/%zz',
      headers: { 'x-request-id': 'req-bad-url' },
    });
    expect([c.statusCode, c.headers['x-request-id']]).toEqual([400, 'req-bad-url']);
  });

  it('never writes signatures, secrets, bearer tokens or the body to the log', async () => {
    const signatures = [
      sign(body),
      sign(body, [OLD_SECRET]),
      sign(body, [WRONG_SECRET]),
      sign(body, [NEW_SECRET, OLD_SECRET]),
    ];
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    // Accepted, rejected (wrong secret), malformed body, Temporal failure, 404 and a health probe.
    await post({ 'content-type': JSON_CT, 'cronofy-hmac-sha256': signatures[3]!, ...auth });
    await post({ 'content-type': JSON_CT, 'cronofy-hmac-sha256': signatures[2]!, ...auth });
    const bad = `{"note":"${BODY_MARKER}"}`;
    await post({ 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(bad), ...auth }, bad);
    r.workflows.fail = new Error('14 UNAVAILABLE: no connection');
    await post({ 'content-type': JSON_CT, 'cronofy-hmac-sha256': signatures[1]!, ...auth });
    r.workflows.fail = undefined;
    await r.app.inject({
      method: 'POST',
      url: '/nowhere',
      headers: { ...auth, 'cronofy-hmac-sha256': signatures[0]! },
    });
    await r.app.inject({ method: 'GET', url: '/healthz', headers: auth });

    const text = r.logs.text;
    expect(parsed().some((l) => l.msg === 'notification signature rejected' && l.reason === 'mismatch')).toBe(
      true,
    );
    expect(parsed().some((l) => l.msg === 'could not hand notification to Temporal' && l.level === 50)).toBe(
      true,
    );
    for (const secret of [...signatures, NEW_SECRET, OLD_SECRET, WRONG_SECRET, ADMIN_TOKEN, BODY_MARKER]) {
      expect(text).not.toContain(secret);
    }
  });

  it('redacts the configured paths when a line does include request headers or tokens', async () => {
    const signature = sign(changeBody());
    const capture = new LogCapture();
    const log = createLogger('info', capture);
    log.info(
      {
        req: {
          headers: { 'cronofy-hmac-sha256': signature, authorization: `Bearer ${ADMIN_TOKEN}`, host: 'h' },
        },
      },
      'headers logged by mistake',
    );
    log.info(
      { account: { accessToken: 'at-secret-1', refreshToken: 'rt-secret-2' }, accessToken: 'at-secret-3' },
      'tokens',
    );
    const [headers, tokens] = capture.lines.map((l) => JSON.parse(l) as LogLine);
    expect(headers?.req).toEqual({
      headers: { 'cronofy-hmac-sha256': '[redacted]', authorization: '[redacted]', host: 'h' },
    });
    expect(tokens).toMatchObject({
      account: { accessToken: '[redacted]', refreshToken: '[redacted]' },
      accessToken: '[redacted]',
    });
    for (const secret of [signature, ADMIN_TOKEN, 'at-secret-1', 'rt-secret-2', 'at-secret-3']) {
      expect(capture.text).not.toContain(secret);
    }
  });
});
