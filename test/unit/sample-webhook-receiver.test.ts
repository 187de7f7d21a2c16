/**
 * The sample webhook receiver `npm run dev` starts (scripts/lib/sample-webhook-receiver.ts): it
 * verifies each delivery with `standardwebhooks`, prints one line per change or account update,
 * refuses what does not verify, and waits briefly for a secret set after it started.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeWebhookMessage,
  type SampleWebhookReceiver,
  startSampleWebhookReceiver,
} from '../../scripts/lib/sample-webhook-receiver.js';
import { newWebhookSecret } from '../../src/webhooks/secret.js';
import { sendWebhook } from '../../src/webhooks/sender.js';

const changed = {
  type: 'events.changed',
  accountId: 'demo',
  changes: [
    {
      seq: 4,
      op: 'upsert',
      eventUid: 'evt_1',
      calendarId: 'cal_demo_work',
      event: { eventUid: 'evt_1', summary: 'Team standup', start: '2026-12-01T09:00:00Z', deleted: false },
      changedAt: '2026-11-30T09:00:00.000Z',
    },
    {
      seq: 5,
      op: 'delete',
      eventUid: 'evt_2',
      calendarId: 'cal_demo_work',
      event: { eventUid: 'evt_2', deleted: true },
      changedAt: '2026-11-30T09:00:01.000Z',
    },
  ],
  cursor: '5',
};
const updated = {
  type: 'account.updated',
  accountId: 'demo',
  state: 'active',
  profiles: [
    { profileId: 'pro_1', profileName: 'me@example.com', connected: false, relinkUrl: 'https://x/relink' },
  ],
  at: '2026-11-30T09:05:00.000Z',
};

let receiver: SampleWebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe('sample webhook receiver', () => {
  it('describes each change and account update on one line', () => {
    expect(describeWebhookMessage(changed)).toEqual([
      '[webhook] demo #4 upsert evt_1  "Team standup"  2026-12-01T09:00:00Z  (cal_demo_work)',
      '[webhook] demo #5 delete evt_2  (deleted)  (cal_demo_work)',
    ]);
    expect(describeWebhookMessage(updated)).toEqual([
      '[webhook] demo account.updated state=active  profiles: me@example.com disconnected (relink: https://x/relink)',
    ]);
  });

  it('prints verified deliveries and refuses a bad signature', async () => {
    const secret = newWebhookSecret();
    const lines: string[] = [];
    receiver = await startSampleWebhookReceiver({ secret, log: (l) => lines.push(l) });
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
    const send = (body: unknown, withSecret = secret) =>
      sendWebhook({
        url: receiver!.url,
        secret: withSecret,
        msgId: `msg_${Math.random()}`,
        body: JSON.stringify(body),
        timeoutMs: 5_000,
      });
    expect(await send(changed)).toMatchObject({ ok: true, status: 204 });
    expect(await send(updated)).toMatchObject({ ok: true, status: 204 });
    expect(await send(changed, newWebhookSecret())).toMatchObject({ ok: false, status: 401 });
    expect(lines.slice(0, 3)).toEqual([
      ...describeWebhookMessage(changed),
      ...describeWebhookMessage(updated),
    ]);
    expect(lines[3]).toMatch(/^\[webhook\] REFUSED a delivery: .*\(401\)$/);
    expect([receiver.verified, receiver.refused]).toEqual([2, 1]);
  });

  it('holds a delivery that arrives before the secret is set, then verifies it', async () => {
    const secret = newWebhookSecret();
    const lines: string[] = [];
    receiver = await startSampleWebhookReceiver({ log: (l) => lines.push(l) });
    const attempt = sendWebhook({
      url: receiver.url,
      secret,
      msgId: 'msg_early',
      body: JSON.stringify(updated),
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 50));
    receiver.setSecret(secret);
    expect(await attempt).toMatchObject({ ok: true, status: 204 });
    expect(lines).toEqual(describeWebhookMessage(updated));
  });
});
