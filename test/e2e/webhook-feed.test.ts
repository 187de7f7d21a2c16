/**
 * Webhooks fed by the service's own change feed, end to end on the real servers: calendar changes
 * in the simulator → syncs → `events` and the change feed → `events.changed` messages to a receiver
 * that verifies every signature with `standardwebhooks` and applies the changes in `seq` order. After
 * creates, edits, a deletion, a burst and a receiver outage longer than the first retries, the
 * receiver's copy equals the live events in `events`, having seen every seq once in order.
 */
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimAccount } from '../../src/simulator/index.js';
import { quiet, registerAndSync, seedEvents } from '../support/accounts.js';
import { eventually, type Stack, startStack } from '../support/stack.js';

const DAY = 86_400_000;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

interface Change {
  seq: number;
  op: 'upsert' | 'delete';
  eventUid: string;
  event: { summary?: string | null };
}

describe('webhooks from the change feed', () => {
  let stack: Stack;
  let account: SimAccount;
  let secret = '';
  let failing = false;
  const held = new Map<string, string | null>();
  const seqs: number[] = [];
  const failures: string[] = [];
  let unverified = 0;
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    let message: { type: string; accountId: string; changes?: Change[] };
    try {
      await eventually(() => secret, 10_000, 'secret');
      message = new Webhook(secret).verify(body, req.headers as Record<string, string>) as typeof message;
    } catch {
      unverified++;
      return res.writeHead(401).end();
    }
    if (failing) {
      failures.push(req.headers['webhook-id'] as string);
      return res.writeHead(500).end();
    }
    if (message.type === 'events.changed' && message.accountId === account.accountId) {
      for (const c of message.changes ?? []) {
        // At least once: a change at or below the last applied seq is already applied.
        if (seqs.length > 0 && c.seq <= (seqs.at(-1) as number)) continue;
        seqs.push(c.seq);
        if (c.op === 'delete') held.delete(c.eventUid);
        else held.set(c.eventUid, c.event.summary ?? null);
      }
    }
    res.writeHead(204).end();
  });

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stack = await startStack({
      sim: { rateLimit: false },
      env: {
        WEBHOOK_RETRY_INITIAL_INTERVAL: '100ms',
        WEBHOOK_RETRY_MAX_INTERVAL: '500ms',
        WEBHOOK_MAX_CHANGES: '10',
      },
    });
    const port = (server.address() as { port: number }).port;
    const res = await stack.admin('POST', '/webhooks', { url: `http://127.0.0.1:${port}/hook` });
    expect(res.status).toBe(201);
    secret = (res.body as { secret: string }).secret;
    account = stack.sim.createAccount({ calendarIds: ['cal_work'] });
    seedEvents(stack, account, 5);
    await registerAndSync(stack, account);
  });
  afterAll(async () => {
    await stack?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  async function liveEvents(): Promise<Map<string, string | null>> {
    const docs = await stack.db
      .collection('events')
      .find({ accountId: account.accountId, deleted: false })
      .toArray();
    return new Map(docs.map((d) => [d.eventUid as string, (d.summary as string | null) ?? null]));
  }
  const sameAsEvents = async () => {
    const live = await liveEvents();
    return live.size === held.size && [...live].every(([uid, summary]) => held.get(uid) === summary);
  };

  it('the receiver ends holding the live events after creates, edits, a deletion, a burst and an outage', async () => {
    const id = account.accountId;
    await eventually(sameAsEvents, 30_000, 'the initial events delivered');
    expect(held.size).toBe(5);

    stack.sim.upsertEvent(id, {
      calendar_id: 'cal_work',
      event_uid: 'first-1',
      summary: 'first 1, edited',
      start: iso(Date.now() + 2 * DAY),
      end: iso(Date.now() + 2 * DAY + 3_600_000),
    });
    stack.sim.deleteEvent(id, 'first-2');
    await eventually(
      async () => held.get('first-1') === 'first 1, edited' && !held.has('first-2'),
      30_000,
      'edit and delete',
    );

    // The receiver fails for a while: changes made meanwhile are retried, then all delivered in order.
    failing = true;
    for (let i = 0; i < 25; i++) {
      stack.sim.upsertEvent(id, {
        calendar_id: 'cal_work',
        event_uid: `burst-${i}`,
        summary: `burst ${i}`,
        start: iso(Date.now() + 3 * DAY + i * 3_600_000),
        end: iso(Date.now() + 3 * DAY + (i + 1) * 3_600_000),
      });
    }
    await eventually(() => failures.length >= 4, 30_000, 'four failed attempts');
    expect(new Set(failures).size).toBe(1);
    failing = false;
    await quiet(stack, id, 'the burst synced');
    await eventually(sameAsEvents, 30_000, 'the copy equal to events');

    expect(held.size).toBe(29);
    expect(unverified).toBe(0);
    // Every seq once, strictly increasing, from 1 with no gap.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});
