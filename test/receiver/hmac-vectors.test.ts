/**
 * Cronofy's published `Cronofy-HMAC-SHA256` vectors (from Cronofy's authentication docs) through the receiver,
 * with secret rotation configured as `CRONOFY_CLIENT_SECRET="<new>,<old>"`.
 *
 * The vector body `{"example":"well-known"}` is not a notification, so a verified vector request
 * gets 400 (body) rather than 401 (signature): that difference is what proves verification passed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeBody, metricValue, type ReceiverApp, receiverApp, sign } from './support.js';

const BODY = '{"example":"well-known"}';
const SECRET_1 = 'CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID';
const SECRET_2 = 'CRN_nGlYDFXwfSXgB9rvGNBJyfE454GGPtWIbNuPwr';
const SIG_1 = '5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0=';
const SIG_2 = 'BmQmWVuZ70ILWjr1CAt5oC7YOolgnku4WZtlrKfx/6k=';
const BOTH = `${SIG_1},${SIG_2}`;

const matched = (r: ReceiverApp, index: number) =>
  metricValue(r.metrics, 'cronofy_notification_secret_matched_total', { secret_index: String(index) });

async function post(r: ReceiverApp, body: string, signature: string) {
  const res = await r.app.inject({
    method: 'POST',
    url: '/cronofy/notifications/acc_vectors',
    headers: { 'content-type': 'application/json; charset=utf-8', 'cronofy-hmac-sha256': signature },
    payload: body,
  });
  return { status: res.statusCode, body: res.json() as { error?: string; signalled?: boolean } };
}

describe('published HMAC vectors through the receiver, SECRET_2 current and SECRET_1 being retired', () => {
  let r: ReceiverApp;
  beforeAll(async () => {
    r = await receiverApp({ env: { CRONOFY_CLIENT_SECRET: `${SECRET_2},${SECRET_1}` } });
  });
  afterAll(async () => {
    await r?.app.close();
  });

  it.each([
    ['SIG_2 alone (current secret)', SIG_2, 0],
    ['SIG_1 alone (old secret only)', SIG_1, 1],
    ['both values, as Cronofy sends during rotation', BOTH, 0],
    ['both values, spaced and reversed', `  ${SIG_2} ,  ${SIG_1}  `, 0],
  ] as const)('%s verifies and counts secret_index %i', async (_name, header, index) => {
    const before = await matched(r, index);
    const res = await post(r, BODY, header);
    expect(res).toEqual({
      status: 400,
      body: { error: 'invalid_body', message: expect.stringContaining("'notification'") },
    });
    expect(await matched(r, index)).toBe(before + 1);
  });

  it('a real notification signed with only the old secret is accepted, signalled and counted as secret_index 1', async () => {
    const before = await matched(r, 1);
    const res = await post(
      r,
      changeBody({ accountId: 'acc_vectors' }),
      sign(changeBody({ accountId: 'acc_vectors' }), [SECRET_1]),
    );
    expect(res).toEqual({ status: 202, body: { status: 'accepted', type: 'change', signalled: true } });
    expect(r.workflows.calls).toHaveLength(1);
    expect(await matched(r, 1)).toBe(before + 1);
  });

  it('the vector body with a single byte changed is refused', async () => {
    const res = await post(r, BODY.replace('}', ' }'), BOTH);
    expect(res).toEqual({ status: 401, body: { error: 'invalid_signature', message: expect.any(String) } });
  });
});

describe('published HMAC vectors through the receiver, SECRET_1 alone', () => {
  let r: ReceiverApp;
  beforeAll(async () => {
    r = await receiverApp({ env: { CRONOFY_CLIENT_SECRET: SECRET_1 } });
  });
  afterAll(async () => {
    await r?.app.close();
  });

  it('accepts SIG_1 and the two-secret header, refuses SIG_2', async () => {
    expect((await post(r, BODY, SIG_1)).status).toBe(400);
    expect((await post(r, BODY, BOTH)).status).toBe(400);
    expect(await matched(r, 0)).toBe(2);
    expect(await post(r, BODY, SIG_2)).toEqual({
      status: 401,
      body: { error: 'invalid_signature', message: expect.any(String) },
    });
    expect(
      await metricValue(r.metrics, 'cronofy_notification_verification_failures_total', {
        reason: 'mismatch',
      }),
    ).toBe(1);
  });
});
