/**
 * `npm run dev` as a new user runs it (scripts/dev.ts, on free ports and a data dir of its own):
 * everything comes up, the demo account is registered and synced, a calendar change reaches
 * MongoDB and, verified, the sample webhook receiver's output, the banner tells where to look, and Ctrl-C (SIGINT to the process group, as a terminal
 * sends it) or SIGTERM stops every process it started.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDemoChange } from '../../scripts/demo-changes.js';
import { eventually } from '../support/stack.js';
import { type Child, cleanEnv, pgrep, start, tsxBin } from './processes.js';

interface StackFile {
  pid: number;
  service: { url: string };
  simulator: { url: string };
  webhookReceiver: { url: string; webhookId: string };
  temporal: { address: string; uiUrl: string };
  mongo: { uri: string; db: string };
  demo: { accountId: string; calendarIds: string[] };
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cronofy-sync-devtest-'));
const children: Child[] = [];

afterAll(() => {
  for (const c of children) c.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

function startDev(): Child {
  // As `npm run dev` runs it (after install-servers.sh, which the test setup has run).
  const env = cleanEnv(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI } : {});
  const child = start(tsxBin, ['scripts/dev.ts', '--free-ports', '--data-dir', dataDir], { env });
  children.push(child);
  return child;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(dataDir, file), 'utf8')) as T;

async function expectAllStopped(child: Child, stack: StackFile): Promise<void> {
  const exit = await child.exitWithin(50_000);
  expect(exit).toEqual({ code: 0, signal: null });
  // Nothing it started is left: every server runs with the data dir in its command line.
  await eventually(async () => pgrep(dataDir).length === 0, 10_000, 'no process left').catch(() => undefined);
  expect(pgrep(dataDir)).toEqual([]);
  expect(() => process.kill(stack.pid, 0)).toThrow();
  expect(existsSync(path.join(dataDir, 'stack.json'))).toBe(false);
  for (const url of [
    stack.service.url,
    stack.simulator.url,
    stack.temporal.uiUrl,
    stack.webhookReceiver.url,
  ]) {
    await expect(fetch(url), url).rejects.toThrow();
  }
}

describe('npm run dev', () => {
  let firstAdminToken = '';

  it('brings up the local stack with the demo account, syncs a change to MongoDB and the sample webhook receiver, and Ctrl-C stops everything', async () => {
    const child = startDev();
    await child.waitFor(/Ctrl-C stops everything/, 180_000);
    const stack = readJson<StackFile>('stack.json');
    const secrets = readJson<{ adminToken: string; clientSecret: string; tokenEncryptionKey: string }>(
      'secrets.json',
    );
    firstAdminToken = secrets.adminToken;

    // The banner says where to look.
    const banner = child.stdout();
    expect(banner).toContain(`${stack.service.url}/docs`);
    expect(banner).toContain(`admin token            ${secrets.adminToken}`);
    expect(banner).toContain(
      `${stack.temporal.uiUrl}/namespaces/default/workflows?query=CronofyAccountId%3D%22demo%22`,
    );
    expect(banner).toContain(`mongosh '${stack.mongo.uri}/cronofy_sync'`);
    expect(banner).toContain(`${stack.simulator.url}/_sim/accounts/demo/events`);
    expect(banner).toContain(`Sample webhook receiver  ${stack.webhookReceiver.url}`);

    expect((await fetch(`${stack.service.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${stack.service.url}/docs`)).status).toBeLessThan(400);
    const unauthorised = await fetch(`${stack.service.url}/accounts`, { method: 'POST' });
    expect(unauthorised.status).toBe(401);

    // The demo account was synced before the banner, and a change flows to MongoDB.
    const mongo = await MongoClient.connect(stack.mongo.uri);
    let change: Awaited<ReturnType<typeof makeDemoChange>>;
    try {
      const events = mongo.db(stack.mongo.db).collection('events');
      expect(await events.countDocuments({ accountId: 'demo', deleted: false })).toBe(3);
      change = await makeDemoChange(
        { simulatorUrl: stack.simulator.url, accountId: 'demo', calendarIds: stack.demo.calendarIds },
        { kind: 'create' },
      );
      const doc = await eventually(
        () => events.findOne({ accountId: 'demo', eventUid: change.eventUid }),
        30_000,
        'change in MongoDB',
      );
      expect(doc).toMatchObject({ summary: change.summary, start: change.start, deleted: false });
    } finally {
      await mongo.close();
    }

    // ...and on to the downstream service: the sample webhook receiver, registered for every
    // account, verified the signed delivery and printed the change (after the seeded events).
    const webhookLines = () =>
      child
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('[webhook] '));
    const line = await eventually(
      () => webhookLines().find((l) => l.includes(` ${change.eventUid} `)),
      30_000,
      'the change at the sample webhook receiver',
    );
    expect(line).toMatch(/^\[webhook\] demo #\d+ upsert /);
    expect(line).toContain(`"${change.summary}"  ${change.start}`);
    const seeded = webhookLines().filter((l) => l.includes('evt_demo_seed_'));
    expect(seeded).toHaveLength(3);
    const seqs = [...seeded, line].map((l) => Number(/ #(\d+) /.exec(l)?.[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(child.stdout()).not.toContain('REFUSED');
    const hook = await fetch(`${stack.service.url}/webhooks/${stack.webhookReceiver.webhookId}`, {
      headers: { authorization: `Bearer ${secrets.adminToken}` },
    });
    expect(await hook.json()).toMatchObject({
      url: stack.webhookReceiver.url,
      state: 'active',
      accountIds: null,
    });

    process.kill(-child.pid, 'SIGINT'); // what Ctrl-C in a terminal does
    await expectAllStopped(child, stack);
  }, 300_000);

  it('restarts with the same generated secrets, and SIGTERM stops everything too', async () => {
    const child = startDev();
    await child.waitFor(/Ctrl-C stops everything/, 180_000);
    const stack = readJson<StackFile>('stack.json');
    expect(readJson<{ adminToken: string }>('secrets.json').adminToken).toBe(firstAdminToken);
    expect(child.stdout()).toContain(firstAdminToken);
    const res = await fetch(`${stack.service.url}/readyz`);
    expect(res.status).toBe(200);

    child.proc.kill('SIGTERM');
    await expectAllStopped(child, stack);
  }, 300_000);
});
