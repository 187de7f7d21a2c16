/**
 * Issue 16, signed outbound webhooks, on the real servers (Temporal dev server, the
 * MongoDB-protocol server, the service's API and worker, the Cronofy simulator) with a real HTTP
 * receiver that verifies every request's signature with the `standardwebhooks` library.
 *
 * The change feed is the in-memory one of test/support/memory-feed.ts, injected into the worker
 * with its `onAppended` wired to the worker's webhook waker, as the real feed will be.
 */
import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startWorker, type WorkerRuntime } from '../../src/runtime.js';
import { webhookWorkflowIdFor } from '../../src/workflows/webhook-messages.js';
import { registerAndSync } from '../support/accounts.js';
import { MemoryFeed } from '../support/memory-feed.js';
import { eventually, type Stack, startStack, workflowBundle } from '../support/stack.js';

type Json = Record<string, unknown>;
interface Message {
  type: string;
  accountId: string;
  changes?: Array<{ seq: number; eventUid: string }>;
  cursor?: string;
  state?: string;
  profiles?: Array<{ profileId: string; connected: boolean; relinkUrl?: string | null }>;
}
interface Attempt {
  hook: string;
  msgId: string;
  timestamp: string;
  body: string;
  status: number;
}
type Behaviour = (n: number) => number | 'hang';

/** The downstream service: one path per webhook, each verified with that webhook's secret. */
class Receiver {
  readonly attempts: Attempt[] = [];
  readonly unverified: string[] = [];
  readonly secrets = new Map<string, string>();
  readonly behaviour = new Map<string, Behaviour>();
  private readonly hanging = new Set<http.ServerResponse>();
  private server = http.createServer((req, res) => void this.handle(req, res));
  url = '';

  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async close() {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const hook = (req.url ?? '').split('/')[2] ?? '';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    // The secret is known once POST /webhooks answered; a delivery may be faster than that.
    const secret = await eventually(() => this.secrets.get(hook), 10_000, `secret of ${hook}`);
    try {
      new Webhook(secret).verify(body, req.headers as Record<string, string>);
    } catch {
      this.unverified.push(hook);
      res.writeHead(401).end();
      return;
    }
    const n = this.attempts.filter((a) => a.hook === hook).length;
    const status = (this.behaviour.get(hook) ?? (() => 200))(n);
    const msgId = req.headers['webhook-id'] as string;
    const timestamp = req.headers['webhook-timestamp'] as string;
    if (status === 'hang') {
      this.attempts.push({ hook, msgId, timestamp, body, status: 0 });
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    this.attempts.push({ hook, msgId, timestamp, body, status });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'failing');
  }

  of(hook: string): Attempt[] {
    return this.attempts.filter((a) => a.hook === hook);
  }

  /** The messages acknowledged with a 2xx, in the order they arrived. */
  delivered(hook: string): Array<Message & { msgId: string }> {
    return this.of(hook)
      .filter((a) => a.status >= 200 && a.status < 300)
      .map((a) => ({ ...(JSON.parse(a.body) as Message), msgId: a.msgId }));
  }

  /** The seqs of the acknowledged `events.changed` messages of one account, in arrival order. */
  seqs(hook: string, accountId: string): number[] {
    return this.delivered(hook)
      .filter((m) => m.type === 'events.changed' && m.accountId === accountId)
      .flatMap((m) => (m.changes ?? []).map((c) => c.seq));
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const items = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ eventUid: `${prefix}-${i}` }));

describe('signed outbound webhooks', () => {
  let stack: Stack;
  let worker: WorkerRuntime;
  let temporal: Client;
  let connection: Connection;
  const feed = new MemoryFeed();
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    stack = await startStack({
      withWorker: false,
      sim: { rateLimit: false },
      env: {
        WEBHOOK_RETRY_WINDOW: '8s',
        WEBHOOK_RETRY_INITIAL_INTERVAL: '100ms',
        WEBHOOK_RETRY_MAX_INTERVAL: '1s',
        WEBHOOK_TIMEOUT: '2s',
        WEBHOOK_MAX_CHANGES: '7',
        // Few sync activity slots: hanging webhook receivers must not take any of them.
        WORKER_MAX_CONCURRENT_ACTIVITIES: '2',
      },
    });
    worker = await startWorker(stack.config, {
      logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      workflowBundle: await workflowBundle(),
      changeFeed: feed,
    });
    feed.onAppended = (accountId) => worker.webhookWaker.accountChanged(accountId);
    connection = await Connection.connect({ address: stack.config.temporal.address });
    temporal = new Client({ connection, namespace: stack.config.temporal.namespace });
  });
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
    await connection?.close();
    await receiver.close();
  });

  /** Creates a webhook posting to the receiver's path `hook`. */
  const createHook = async (hook: string, body: Json = {}) => {
    const res = await stack.admin('POST', '/webhooks', { url: `${receiver.url}/h/${hook}`, ...body });
    expect(res.status).toBe(201);
    const { id, secret } = res.body as { id: string; secret: string };
    receiver.secrets.set(hook, secret);
    return id;
  };
  const getHook = async (id: string) => (await stack.admin('GET', `/webhooks/${id}`)).body as Json;

  it("delivers an account's changes in order, in bounded signed messages, and shows where it is", async () => {
    const id = await createHook('order', { accountIds: ['acc-order'], description: 'in order' });
    await feed.append('acc-order', items('a', 20));
    await feed.append('acc-order', items('b', 3));
    await feed.append('acc-order', [{ eventUid: 'a-0', op: 'delete' }]);
    await eventually(() => receiver.seqs('order', 'acc-order').length === 24, 30_000, 'all 24 changes');
    expect(receiver.seqs('order', 'acc-order')).toEqual(range(1, 24));
    const messages = receiver.delivered('order');
    expect(messages.every((m) => (m.changes?.length ?? 0) <= 7)).toBe(true);
    for (const m of messages) expect(m.cursor).toBe(String(m.changes?.at(-1)?.seq));
    expect(messages.at(-1)?.changes?.at(-1)).toMatchObject({ seq: 24, op: 'delete', eventUid: 'a-0' });
    expect(new Set(messages.map((m) => m.msgId)).size).toBe(messages.length);
    expect(receiver.unverified).toEqual([]);

    const shown = await eventually(
      async () => {
        const h = await getHook(id);
        const acc = (h.accounts as Json[])[0];
        return acc?.cursor === '24' && acc.pending === null ? h : undefined;
      },
      10_000,
      'cursor 24',
    );
    expect(shown).toMatchObject({ id, state: 'active', accountIds: ['acc-order'], description: 'in order' });
    expect(shown).not.toHaveProperty('secret');
    const list = (await stack.admin('GET', '/webhooks')).body as { webhooks: Json[] };
    expect(list.webhooks.map((w) => w.id)).toContain(id);
    expect(JSON.stringify(list)).not.toContain('whsec_');
    const deliveries = (await stack.admin('GET', `/webhooks/${id}/deliveries?limit=200`)).body as {
      deliveries: Json[];
    };
    expect(deliveries.deliveries).toHaveLength(messages.length);
    expect(deliveries.deliveries[0]).toMatchObject({
      accountId: 'acc-order',
      attempt: 1,
      status: 200,
      error: null,
    });
    const ats = deliveries.deliveries.map((d) => Date.parse(d.at as string));
    expect(ats).toEqual([...ats].sort((a, b) => b - a));
  });

  it('refuses a bad url or an unknown field with a clear 400, and callers without the token', async () => {
    const bad = await stack.admin('POST', '/webhooks', { url: 'ftp://example.com/x' });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_url' } });
    const notUrl = await stack.admin('POST', '/webhooks', { url: 'not a url' });
    expect(notUrl).toMatchObject({ status: 400, body: { error: 'invalid_url' } });
    const extra = await stack.admin('POST', '/webhooks', { url: 'https://x.example.com', secret: 'mine' });
    expect(extra.status).toBe(400);
    expect((extra.body as Json).message).toMatch(/secret/);
    const anon = await fetch(`${stack.apiUrl}/webhooks`);
    expect(anon.status).toBe(401);
    expect((await stack.admin('GET', '/webhooks/wh_00000000000000000000')).status).toBe(404);
  });

  it('rides out a receiver answering 500 for longer than the first retries: same id and body on every retry, nothing lost, order kept', async () => {
    await createHook('outage', { accountIds: ['acc-outage'] });
    receiver.behaviour.set('outage', (n) => (n < 5 ? 500 : 200));
    await feed.append('acc-outage', items('x', 10));
    await feed.append('acc-outage', items('y', 10));
    await eventually(() => receiver.seqs('outage', 'acc-outage').length === 20, 30_000, 'all 20 changes');
    expect(receiver.seqs('outage', 'acc-outage')).toEqual(range(1, 20));
    const attempts = receiver.of('outage');
    const failed = attempts.filter((a) => a.status === 500);
    expect(failed).toHaveLength(5);
    // Every failed attempt was the same message, sent again byte for byte until acknowledged.
    const first = attempts[0] as Attempt;
    for (const a of attempts.slice(0, 6)) expect([a.msgId, a.body]).toEqual([first.msgId, first.body]);
    expect(attempts[5]?.status).toBe(200);
    expect(receiver.unverified).toEqual([]);
  });

  it('pauses a webhook failing for the whole retry window, keeps everything, and resumes from its cursor', async () => {
    const id = await createHook('pause', { accountIds: ['acc-pause'] });
    receiver.behaviour.set('pause', () => 503);
    await feed.append('acc-pause', items('p', 5));
    const paused = await eventually(
      async () => {
        const h = await getHook(id);
        return h.state === 'paused' ? h : undefined;
      },
      45_000,
      'paused',
    );
    expect(paused.pausedReason).toMatch(/acc-pause.*HTTP 503/);
    expect(paused.failingSince).toEqual(expect.any(String));
    const failing = (paused.accounts as Json[])[0] as Json;
    expect(failing).toMatchObject({ cursor: null, pending: { type: 'events.changed' } });
    const stuckId = (failing.pending as Json).msgId;
    const handle = temporal.workflow.getHandle(webhookWorkflowIdFor(id, 'acc-pause'));
    await eventually(
      async () => (await handle.describe()).searchAttributes?.CronofyWebhookState?.[0] === 'paused',
      10_000,
      'search attribute paused',
    );

    // Changes keep coming while it is paused; none is attempted.
    const before = receiver.of('pause').length;
    await feed.append('acc-pause', items('q', 5));
    expect((await getHook(id)).state).toBe('paused');
    expect(receiver.of('pause').length).toBe(before);

    receiver.behaviour.set('pause', () => 200);
    const resumed = await stack.admin('POST', `/webhooks/${id}/resume`);
    expect(resumed).toMatchObject({ status: 202, body: { webhookId: id, state: 'active', accounts: 1 } });
    await eventually(() => receiver.seqs('pause', 'acc-pause').length === 10, 30_000, 'all 10 after resume');
    expect(receiver.seqs('pause', 'acc-pause')).toEqual(range(1, 10));
    // The first message delivered is the one that had been failing.
    expect(receiver.delivered('pause')[0]?.msgId).toBe(stuckId);
    const after = await getHook(id);
    expect(after).toMatchObject({ state: 'active', pausedReason: null, failingSince: null });
  });

  it('replays from a cursor, and from the beginning', async () => {
    const hooks = (await stack.admin('GET', '/webhooks')).body as { webhooks: Json[] };
    const id = hooks.webhooks.find((w) => (w.url as string).endsWith('/h/order'))?.id as string;
    const seen = receiver.seqs('order', 'acc-order').length;
    const res = await stack.admin('POST', `/webhooks/${id}/replay`, { accountId: 'acc-order', after: '17' });
    expect(res).toMatchObject({ status: 202, body: { webhookId: id, accountId: 'acc-order', after: '17' } });
    await eventually(
      () => receiver.seqs('order', 'acc-order').length === seen + 7,
      30_000,
      'replayed 18..24',
    );
    expect(receiver.seqs('order', 'acc-order').slice(seen)).toEqual(range(18, 24));

    const all = await stack.admin('POST', `/webhooks/${id}/replay`, { accountId: 'acc-order' });
    expect(all).toMatchObject({ status: 202, body: { after: null } });
    await eventually(
      () => receiver.seqs('order', 'acc-order').length === seen + 7 + 24,
      30_000,
      'replayed all',
    );
    expect(receiver.seqs('order', 'acc-order').slice(seen + 7)).toEqual(range(1, 24));

    const other = await stack.admin('POST', `/webhooks/${id}/replay`, { accountId: 'acc-elsewhere' });
    expect(other).toMatchObject({ status: 400, body: { error: 'account_not_followed' } });
    const badCursor = await stack.admin('POST', `/webhooks/${id}/replay`, {
      accountId: 'acc-order',
      after: 'x',
    });
    expect(badCursor.status).toBe(400);
  });

  it('delete stops delivery and removes the webhook', async () => {
    const id = await createHook('gone', { accountIds: ['acc-gone'] });
    await feed.append('acc-gone', items('g', 3));
    await eventually(() => receiver.seqs('gone', 'acc-gone').length === 3, 30_000, 'first 3');
    const res = await stack.admin('DELETE', `/webhooks/${id}`);
    expect(res).toMatchObject({ status: 200, body: { webhookId: id, deleted: true, stoppedWorkflows: 1 } });
    const handle = temporal.workflow.getHandle(webhookWorkflowIdFor(id, 'acc-gone'));
    expect((await handle.describe()).status.name).toBe('TERMINATED');
    await feed.append('acc-gone', items('h', 3));
    expect((await stack.admin('GET', `/webhooks/${id}`)).status).toBe(404);
    expect((await stack.admin('GET', `/webhooks/${id}/deliveries`)).status).toBe(404);
    // A wake-up for the deleted webhook (a waker's cached list) ends at once: nothing is sent.
    await eventually(
      async () => {
        const d = await handle.describe().catch(() => undefined);
        return d && d.status.name !== 'RUNNING';
      },
      10_000,
      'not running',
    );
    expect(receiver.seqs('gone', 'acc-gone')).toEqual([1, 2, 3]);
  });

  it('receivers that hang do not hold up a sync; a profile needing re-authorization is delivered as account.updated', async () => {
    // Four accounts whose receiver never answers: their attempts occupy webhook activity slots.
    const slow = await createHook('slow', { accountIds: ['s1', 's2', 's3', 's4'] });
    receiver.behaviour.set('slow', () => 'hang');
    for (const a of ['s1', 's2', 's3', 's4']) await feed.append(a, items(a, 1));
    await eventually(() => new Set(receiver.of('slow').map((a) => a.body)).size >= 4, 30_000, '4 hanging');

    // Meanwhile a real account registers and syncs through the simulator, as usual.
    const account = stack.sim.createAccount();
    const updates = await createHook('updates', { accountIds: [account.accountId] });
    await registerAndSync(stack, account);
    const start = new Date(Date.now() + 2 * 86_400_000);
    const event = stack.sim.upsertEvent(account.accountId, {
      calendar_id: account.calendarIds[0] as string,
      summary: 'while receivers hang',
      start: start.toISOString().replace(/\.\d+Z$/, 'Z'),
      end: new Date(start.getTime() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    await eventually(
      () =>
        stack.db.collection('events').findOne({ accountId: account.accountId, eventUid: event.event_uid }),
      30_000,
      'the synced event',
    );

    stack.sim.disconnectProfile(account.accountId);
    const message = await eventually(
      () => receiver.delivered('updates').find((m) => m.type === 'account.updated'),
      30_000,
      'account.updated',
    );
    expect(message).toMatchObject({ type: 'account.updated', accountId: account.accountId, state: 'active' });
    expect(message.profiles).toEqual([
      expect.objectContaining({ connected: false, relinkUrl: expect.stringMatching(/^https?:\/\//) }),
    ]);
    expect(receiver.unverified).toEqual([]);
    await stack.admin('DELETE', `/webhooks/${slow}`);
    await stack.admin('DELETE', `/webhooks/${updates}`);
  });

  it('counts attempts by outcome, their latency, the changes acknowledged and their lag, and paused webhooks', async () => {
    /** A sample of the worker's registry: one series' value (a histogram's `_count` by its name). */
    const sample = async (name: string, labels: Record<string, string> = {}) => {
      let total = 0;
      for (const m of await worker.metrics.registry.getMetricsAsJSON()) {
        for (const v of m.values as Array<{ metricName?: string; labels: Json; value: number }>) {
          if ((v.metricName ?? m.name) !== name) continue;
          if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) total += v.value;
        }
      }
      return total;
    };
    const before = {
      ok: await sample('cronofy_webhook_deliveries_total', { outcome: 'ok', type: 'events.changed' }),
      httpError: await sample('cronofy_webhook_deliveries_total', { outcome: 'http_error' }),
      timeout: await sample('cronofy_webhook_deliveries_total', { outcome: 'timeout' }),
      network: await sample('cronofy_webhook_deliveries_total', { outcome: 'network' }),
      attempts: await sample('cronofy_webhook_delivery_seconds_count'),
      changes: await sample('cronofy_webhook_changes_delivered_total'),
      lag: await sample('cronofy_webhook_lag_seconds_count'),
      lagUnder1s: await sample('cronofy_webhook_lag_seconds_bucket', { le: '1' }),
    };

    // A receiver that hangs once (past WEBHOOK_TIMEOUT), answers 500 once, then acknowledges; and
    // an endpoint nobody listens on: network errors until the retry window runs out, then paused.
    await createHook('metrics', { accountIds: ['acc-metrics'] });
    receiver.behaviour.set('metrics', (n) => (n === 0 ? 'hang' : n === 1 ? 500 : 200));
    const refused = await stack.admin('POST', '/webhooks', {
      url: 'http://127.0.0.1:1/hook',
      accountIds: ['acc-metrics'],
    });
    const refusedId = (refused.body as { id: string }).id;
    await feed.append('acc-metrics', items('m', 3));
    await eventually(() => receiver.seqs('metrics', 'acc-metrics').length === 3, 30_000, 'all 3 changes');
    await eventually(async () => (await getHook(refusedId)).state === 'paused', 45_000, 'refused paused');

    await eventually(
      async () => (await sample('cronofy_webhook_changes_delivered_total')) >= before.changes + 3,
      10_000,
      'changes counted',
    );
    expect(await sample('cronofy_webhook_deliveries_total', { outcome: 'ok', type: 'events.changed' })).toBe(
      before.ok + 1,
    );
    expect(await sample('cronofy_webhook_deliveries_total', { outcome: 'timeout' })).toBeGreaterThan(
      before.timeout,
    );
    expect(await sample('cronofy_webhook_deliveries_total', { outcome: 'http_error' })).toBeGreaterThan(
      before.httpError,
    );
    expect(await sample('cronofy_webhook_deliveries_total', { outcome: 'network' })).toBeGreaterThan(
      before.network,
    );
    // Every attempt is timed: at least the hang, the 500, the 2xx and one refused connection.
    expect(await sample('cronofy_webhook_delivery_seconds_count')).toBeGreaterThanOrEqual(
      before.attempts + 4,
    );
    expect(
      await sample('cronofy_webhook_delivery_seconds_sum', { outcome: 'timeout' }),
    ).toBeGreaterThanOrEqual(2);
    expect(await sample('cronofy_webhook_changes_delivered_total')).toBe(before.changes + 3);
    // One lag sample per change; the hang alone (2 s) kept them waiting at least that long.
    expect(await sample('cronofy_webhook_lag_seconds_count')).toBe(before.lag + 3);
    expect(await sample('cronofy_webhook_lag_seconds_bucket', { le: '1' })).toBe(before.lagUnder1s);
    // Webhooks by state, counted from MongoDB at the scrape.
    const text = await worker.metrics.registry.metrics();
    const paused = Number(/^cronofy_webhooks\{state="paused"\} (\d+)$/m.exec(text)?.[1]);
    expect(paused).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^cronofy_webhooks\{state="active"\} [1-9]\d*$/m);
    await stack.admin('DELETE', `/webhooks/${refusedId}`);
  });
});
