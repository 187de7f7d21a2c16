/**
 * Waking webhook deliveries (src/temporal/webhook-workflows.ts `WebhookWaker`) and recording
 * account updates (src/webhooks/account-log.ts), with fakes.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../scripts/lib/wait.js';
import type { WebhookInfo } from '../../src/store/webhooks-repo.js';
import { WebhookWaker } from '../../src/temporal/webhook-workflows.js';
import { AccountLog } from '../../src/webhooks/account-log.js';
import type { AccountUpdate } from '../../src/webhooks/messages.js';

const webhook = (id: string, over: Partial<WebhookInfo> = {}): WebhookInfo => ({
  _id: id,
  url: 'https://h.example.com',
  accountIds: null,
  description: null,
  state: 'active',
  pausedReason: null,
  failingSince: null,
  pausedAt: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});

function waker(list: WebhookInfo[]) {
  let now = 0;
  let reads = 0;
  const woken: string[] = [];
  const w = new WebhookWaker({
    webhooks: {
      list: async () => {
        reads++;
        return [...list];
      },
    },
    workflows: { changed: async (id, accountId) => void woken.push(`${id}:${accountId}`) },
    now: () => now,
    ttlMs: 5_000,
  });
  return { w, woken, tick: (ms: number) => (now += ms), reads: () => reads, list };
}

describe('WebhookWaker', () => {
  it('tries a failed wake-up again until it works (Temporal away), not only at the hourly look', async () => {
    let failures = 2;
    const woken: string[] = [];
    const w = new WebhookWaker({
      webhooks: { list: async () => [webhook('wh_1')] },
      workflows: {
        changed: async (id, accountId) => {
          if (failures-- > 0) throw new Error('Temporal unavailable');
          woken.push(`${id}:${accountId}`);
        },
      },
      retryMinMs: 5,
      retryMaxMs: 20,
    });
    try {
      await expect(w.accountChanged('a')).rejects.toThrow('Temporal unavailable');
      expect(w.retrying).toBe(1);
      await eventually(async () => woken.length === 1, 5_000, 'woken by a retry');
      expect(woken).toEqual(['wh_1:a']);
      expect(w.retrying).toBe(0);
    } finally {
      w.close();
    }
  });

  it('wakes every active webhook following the account, not paused ones or others', async () => {
    const t = waker([
      webhook('wh_all'),
      webhook('wh_mine', { accountIds: ['a'] }),
      webhook('wh_other', { accountIds: ['b'] }),
      webhook('wh_paused', { state: 'paused' }),
    ]);
    expect(await t.w.accountChanged('a')).toBe(2);
    expect(t.woken.sort()).toEqual(['wh_all:a', 'wh_mine:a']);
  });

  it('reads the list at most once per TTL, and wakes a webhook created meanwhile for the accounts it missed', async () => {
    const t = waker([webhook('wh_1')]);
    await t.w.accountChanged('a');
    t.list.push(webhook('wh_2'));
    t.tick(1_000);
    await t.w.accountChanged('b');
    await t.w.accountChanged('c');
    expect(t.reads()).toBe(1);
    expect(t.woken).toEqual(['wh_1:a', 'wh_1:b', 'wh_1:c']);
    t.tick(5_000);
    await t.w.accountChanged('d');
    expect(t.reads()).toBe(2);
    expect(t.woken.slice(3).sort()).toEqual(['wh_1:d', 'wh_2:b', 'wh_2:c', 'wh_2:d']);
    t.w.close();
  });

  it('looks again when its copy expires even if no other change comes', async () => {
    let reads = 0;
    const list = [webhook('wh_1', { accountIds: ['x'] })];
    const woken: string[] = [];
    const w = new WebhookWaker({
      webhooks: {
        list: async () => {
          reads++;
          return [...list];
        },
      },
      workflows: { changed: async (id, a) => void woken.push(`${id}:${a}`) },
      ttlMs: 50,
    });
    await w.accountChanged('a');
    list.push(webhook('wh_2'));
    await w.accountChanged('b');
    await eventually(() => woken.includes('wh_2:b'), 5_000, 'wh_2 woken for b', 10);
    expect(reads).toBe(2);
    w.close();
  });
});

describe('AccountLog', () => {
  function log() {
    const entries: AccountUpdate[] = [];
    const woken: string[] = [];
    const updates = {
      last: async (a: string) => entries.filter((e) => e.accountId === a).at(-1) ?? null,
      lastProfiles: async (a: string) =>
        entries.filter((e) => e.accountId === a && e.profiles).at(-1) ?? null,
      append: async (u: Omit<AccountUpdate, 'seq'>) => {
        entries.push({ ...u, seq: entries.length + 1 });
        return entries.length;
      },
    };
    const l = new AccountLog({
      updates: updates as never,
      lastFailure: async () => 'Cronofy 401: unauthorized',
      wake: async (a) => void woken.push(a),
      now: () => new Date(0),
    });
    return { l, entries, woken };
  }

  it('logs state transitions only, with the reason for failing states, and wakes deliveries', async () => {
    const { l, entries, woken } = log();
    expect(await l.stateRecorded('a', 'active')).toBe(false);
    expect(await l.stateRecorded('a', 'degraded')).toBe(true);
    expect(await l.stateRecorded('a', 'degraded')).toBe(false);
    expect(await l.stateRecorded('a', 'disconnected')).toBe(true);
    expect(await l.stateRecorded('a', 'active')).toBe(true);
    expect(entries.map((e) => [e.state, e.reason])).toEqual([
      ['degraded', 'Cronofy 401: unauthorized'],
      ['disconnected', 'Cronofy 401: unauthorized'],
      ['active', null],
    ]);
    expect(woken).toEqual(['a', 'a', 'a']);
  });

  it('logs a profile needing re-authorization with its relink URL, and its return', async () => {
    const { l, entries } = log();
    const ok = { profileId: 'p1', profileName: 'me', connected: true, relinkUrl: null };
    const lost = { ...ok, connected: false, relinkUrl: 'https://relink' };
    expect(await l.profilesRead('a', 'active', [ok])).toBe(false);
    expect(await l.profilesRead('a', 'active', [lost])).toBe(true);
    expect(await l.profilesRead('a', 'active', [lost])).toBe(false);
    expect(await l.profilesRead('a', 'active', [ok])).toBe(true);
    expect(entries.map((e) => e.profiles)).toEqual([[lost], [ok]]);
  });
});
