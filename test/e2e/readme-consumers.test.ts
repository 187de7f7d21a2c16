/**
 * The README's downstream consumer examples, run as written (extracted from README.md) against the
 * whole service (real Temporal and MongoDB servers, the simulator as Cronofy): after creates, edits,
 * moves, deletions and a burst, what the example holds equals the live events in `events`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/servers.js';
import type { SimAccount } from '../../src/simulator/index.js';
import { quiet, registerAndSync, seedEvents } from '../support/accounts.js';
import { ADMIN_TOKEN, eventually, type Stack, startStack } from '../support/stack.js';

const README = path.resolve(import.meta.dirname, '../../README.md');

/** The code block that follows `<!-- readme-example: <name> ... -->` in the README. */
function readmeExample(name: string): string {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(`<!-- readme-example: ${name}`);
  if (at < 0) throw new Error(`README has no example ${name}`);
  const m = /```js\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m?.[1]) throw new Error(`README example ${name} has no js block`);
  return m[1];
}

const DAY = 86_400_000;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

describe('README consumer examples', () => {
  let stack: Stack;
  let account: SimAccount;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    stack = await startStack({ sim: { rateLimit: false } });
    account = stack.sim.createAccount({ calendarIds: ['cal_work'] });
    seedEvents(stack, account, 5);
    await registerAndSync(stack, account);
    const artifacts = path.resolve(import.meta.dirname, '../../test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    dir = mkdtempSync(path.join(artifacts, 'readme-example-'));
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Changes of every kind, then waits until the service has read them all. */
  async function changeEverything(tag: string, deleteUid: string) {
    const id = account.accountId;
    const at = (d: number) => ({
      start: iso(Date.now() + d * DAY),
      end: iso(Date.now() + d * DAY + 3_600_000),
    });
    stack.sim.upsertEvent(id, {
      calendar_id: 'cal_work',
      event_uid: `${tag}-new`,
      summary: `${tag} created`,
      ...at(3),
    });
    stack.sim.upsertEvent(id, {
      calendar_id: 'cal_work',
      event_uid: 'first-0',
      summary: `${tag} edited`,
      ...at(1),
    });
    stack.sim.upsertEvent(id, {
      calendar_id: 'cal_work',
      event_uid: 'first-1',
      summary: 'first 1',
      ...at(9),
    }); // moved
    stack.sim.deleteEvent(id, deleteUid);
    for (let i = 0; i < 30; i++) {
      stack.sim.upsertEvent(id, {
        calendar_id: 'cal_work',
        event_uid: `${tag}-burst-${i}`,
        summary: `${tag} burst ${i}`,
        ...at(4),
      });
    }
    await eventually(
      () =>
        stack.db
          .collection('events')
          .countDocuments({ accountId: id, eventUid: { $regex: `^${tag}-burst-` } })
          .then((n) => n === 30),
      20_000,
      'the burst synced',
    );
    await quiet(stack, id, 'every change read');
  }

  async function liveEvents(): Promise<Map<string, string | null>> {
    const docs = await stack.db
      .collection('events')
      .find({ accountId: account.accountId, deleted: false })
      .toArray();
    return new Map(docs.map((d) => [d.eventUid as string, d.summary as string | null]));
  }

  /**
   * Runs a README example as written, from a file inside the repository (so `standardwebhooks`
   * resolves from its node_modules); `held` follows the changes it prints, by eventUid.
   */
  function runExample(name: string, env: Record<string, string>) {
    const file = path.join(dir, name);
    writeFileSync(file, readmeExample(name));
    const held = new Map<string, string | null>();
    const printed: Record<string, unknown>[] = [];
    let output = '';
    let stderr = '';
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
      const lines = output.split('\n');
      output = lines.pop() ?? '';
      for (const line of lines) {
        const c = JSON.parse(line) as { op?: string; eventUid: string; summary: string | null };
        printed.push(c);
        if (c.op === 'delete') held.delete(c.eventUid);
        else if (c.op === 'upsert') held.set(c.eventUid, c.summary);
      }
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    return { held, printed, stderr: () => stderr };
  }

  async function expectHolding(held: Map<string, string | null>, stderr: () => string) {
    const want = await liveEvents();
    await eventually(
      async () => JSON.stringify([...held].sort()) === JSON.stringify([...want].sort()),
      30_000,
      'the example holds the live events',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; example stderr: ${stderr()}`);
    });
  }

  it('the feed consumer ends holding the live events', async () => {
    const ex = runExample('feed-consumer.mjs', {
      CRONOFY_SYNC_URL: stack.apiUrl,
      ADMIN_TOKEN,
      ACCOUNT_ID: account.accountId,
    });
    await changeEverything('feed', 'first-2');
    expect((await liveEvents()).size).toBe(5 - 1 + 1 + 30);
    await expectHolding(ex.held, ex.stderr);
    expect(ex.held.get('first-0')).toBe('feed edited');
    expect(ex.held.has('first-2')).toBe(false);
  });

  it('the webhook receiver verifies every delivery and ends holding the live events', async () => {
    const port = await freePort();
    const created = await stack.admin('POST', '/webhooks', {
      url: `http://127.0.0.1:${port}/`,
      accountIds: [account.accountId],
    });
    expect(created.status).toBe(201);
    const { id, secret } = created.body as { id: string; secret: string };
    const ex = runExample('webhook-receiver.mjs', { WEBHOOK_SECRET: secret, PORT: String(port) });
    await changeEverything('hook', 'first-3');
    await expectHolding(ex.held, ex.stderr);
    expect(ex.held.get('first-0')).toBe('hook edited');
    expect(ex.held.has('first-3')).toBe(false);
    // Every attempt it answered was verified (a bad signature would be 401).
    const deliveries = await stack.admin('GET', `/webhooks/${id}/deliveries`);
    const statuses = (deliveries.body as { deliveries: { status: number | null }[] }).deliveries.map(
      (d) => d.status,
    );
    expect(statuses).not.toContain(401);
    expect(statuses).toContain(204);
  });
});
