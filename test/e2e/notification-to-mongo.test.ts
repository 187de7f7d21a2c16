/**
 * Walking skeleton, end to end on real servers: a signed Cronofy push → Fastify receiver →
 * signal-with-start on the Temporal dev server → worker → Read Events on the Cronofy simulator →
 * the event upserted in MongoDB (FerretDB or mongod).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../src/cronofy/hmac.js';
import { eventually, type Stack, startStack, TEST_SECRET } from '../support/stack.js';

describe('notification → MongoDB', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a change in Cronofy lands in the events collection through the push path', async () => {
    const { sim, db } = stack;
    const account = sim.createAccount({ calendarIds: ['cal_work'] });
    const reg = await stack.admin('POST', '/accounts', {
      accountId: account.accountId,
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
    });
    expect(reg.status).toBe(201);

    // The workflow creates the channel, pointed at our receiver, and runs the initial full sync.
    await eventually(async () => sim.channels(account.accountId).length === 1, 20_000, 'channel');
    const channel = sim.channels(account.accountId)[0]!;
    expect(channel.callback_url).toBe(`${stack.apiUrl}/cronofy/notifications/${account.accountId}`);
    await eventually(
      async () =>
        db
          .collection('sync_runs')
          .findOne({ accountId: account.accountId, kind: 'full', outcome: 'succeeded' }),
      20_000,
      'initial full sync',
    );

    // Now a change: the simulator pushes a signed `change` notification to the receiver.
    const start = new Date(Date.now() + 3 * 86_400_000);
    start.setUTCHours(9, 0, 0, 0);
    const event = sim.upsertEvent(account.accountId, {
      calendar_id: 'cal_work',
      summary: 'Design review',
      description: 'Walking skeleton',
      start: start.toISOString().replace('.000Z', 'Z'),
      end: new Date(start.getTime() + 3_600_000).toISOString().replace('.000Z', 'Z'),
      location: { description: 'Room 4' },
      attendees: [{ email: 'a@example.com', display_name: 'A', status: 'accepted' }],
    });

    const doc = await eventually(
      async () =>
        db.collection('events').findOne({ accountId: account.accountId, eventUid: event.event_uid }),
      20_000,
      'event document',
    );
    expect(doc).toMatchObject({
      accountId: account.accountId,
      calendarId: 'cal_work',
      eventUid: event.event_uid,
      summary: 'Design review',
      description: 'Walking skeleton',
      location: { description: 'Room 4' },
      start: event.start,
      end: event.end,
      allDay: false,
      deleted: false,
      attendees: [{ email: 'a@example.com', display_name: 'A', status: 'accepted' }],
    });
    expect(doc.startAt).toEqual(start);
    expect(doc.endAt).toEqual(new Date(start.getTime() + 3_600_000));
    expect(doc.updatedAt).toEqual(new Date(event.updated as string));
    expect(doc.syncedAt).toBeInstanceOf(Date);

    // It came through a notification-driven incremental sync with last_modified set.
    const run = await db
      .collection('sync_runs')
      .findOne({ accountId: account.accountId, kind: 'incremental', outcome: 'succeeded' });
    expect(run?.params.lastModified).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
    expect(run?.upserted).toBe(1);
    const pushes = sim.deliveries.filter((d) => d.accountId === account.accountId && d.type === 'change');
    expect(pushes.some((d) => d.status === 202)).toBe(true);
    const reads = sim.requests.filter((r) => r.path === '/v1/events' && r.query?.includes('last_modified'));
    expect(reads.length).toBeGreaterThanOrEqual(1);

    if (process.env.RECORD_HISTORIES) {
      // A replay fixture from the real stack: unlike the time-skipping ones, it holds the search
      // attribute upserts and the prioritised activities of production runs.
      //   RECORD_HISTORIES=1 npx vitest run test/e2e/notification-to-mongo.test.ts
      const connection = await Connection.connect({ address: stack.config.temporal.address });
      try {
        const history = await new Client({ connection, namespace: stack.config.temporal.namespace }).workflow
          .getHandle(`cronofy-account:${account.accountId}`)
          .fetchHistory();
        writeFileSync(
          join(import.meta.dirname, '../workflow/histories/real-stack-push.pb'),
          temporal.api.history.v1.History.encode(history).finish(),
        );
      } finally {
        await connection.close();
      }
    }
  });

  it('a bad signature gets 401 and starts nothing', async () => {
    const body = JSON.stringify({
      notification: { type: 'change', changes_since: '2026-01-01T00:00:00Z' },
      channel: { channel_id: 'chn_x', callback_url: `${stack.apiUrl}/cronofy/notifications/nobody` },
    });
    const res = await fetch(`${stack.apiUrl}/cronofy/notifications/nobody`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'cronofy-hmac-sha256': signatureHeader(body, ['CRN_wrong']),
      },
      body,
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_signature' });
    expect(await stack.api.workflows.exists('nobody')).toBe(false);

    // The same body correctly signed is accepted: the 401 was about the signature alone.
    const ok = await fetch(`${stack.apiUrl}/cronofy/notifications/nobody`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'cronofy-hmac-sha256': signatureHeader(body, [TEST_SECRET]),
      },
      body,
    });
    expect(ok.status).toBe(202);
    expect(await stack.api.workflows.exists('nobody')).toBe(true);
    // An unregistered account's workflow ends by itself without touching Cronofy.
    await eventually(async () => !(await stack.api.workflows.isRunning('nobody')), 10_000, 'workflow end');
  });
});
