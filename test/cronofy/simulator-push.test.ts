/**
 * The simulator's channels and pushes: verification on create, signed `change` pushes whose
 * changes_since finds the change, channel filters, limits and validation, retries of failed
 * deliveries, the 5 s (here shortened) timeout, and channels closed silently after the retry window.
 * Retry schedules are ms-scale; waits poll with generous limits so a loaded machine does not flake.
 */
import { describe, expect, it, vi } from 'vitest';
import { verifyCronofyHmac } from '../../src/cronofy/hmac.js';
import type { CronofySimulator, CronofySimulatorOptions, SimAccount } from '../../src/simulator/index.js';
import { SECRETS, simApi, simWorld, sleep } from './helpers.js';

const world = (opts: Partial<CronofySimulatorOptions> = {}) => simWorld(opts);
const api = simApi;

async function createChannel(
  sim: CronofySimulator,
  account: SimAccount,
  callbackUrl: string,
  filters?: unknown,
) {
  const answer = await api(sim, account, 'POST', '/v1/channels', { callback_url: callbackUrl, filters });
  expect(answer.status).toBe(200);
  return answer.body.channel as {
    channel_id: string;
    callback_url: string;
    filters: Record<string, unknown>;
  };
}

describe('pushes', () => {
  it('verification on create, then a signed change whose changes_since finds the change', async () => {
    const { sim, receiver, account } = await world();
    const channel = await createChannel(sim, account, receiver.url);
    await sim.waitForDelivery((d) => d.type === 'verification');
    const event = sim.upsertEvent(account.accountId, {
      calendar_id: 'cal_work',
      summary: 'standup',
      start: new Date(Date.now() + 86_400_000),
      end: new Date(Date.now() + 86_400_000 + 900_000),
    });
    await sim.waitForDelivery((d) => d.type === 'change' && d.ok);

    expect(receiver.received.map((p) => p.json.notification.type)).toEqual(['verification', 'change']);
    const [verification, change] = receiver.received;
    expect(verification!.json).toEqual({ notification: { type: 'verification' }, channel });
    expect(change!.json.channel).toEqual({
      channel_id: channel.channel_id,
      callback_url: receiver.url,
      filters: {},
    });
    expect(change!.headers['content-type']).toBe('application/json; charset=utf-8');
    const header = change!.headers['cronofy-hmac-sha256'] as string;
    expect(verifyCronofyHmac(change!.raw, header, [SECRETS[0]!])).toEqual({ ok: true, secretIndex: 0 });
    expect(verifyCronofyHmac(change!.raw, header, [SECRETS[1]!])).toEqual({ ok: true, secretIndex: 0 });

    const since = change!.json.notification.changes_since!;
    expect(since).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const read = await api(
      sim,
      account,
      'GET',
      `/v1/events?tzid=Etc/UTC&include_deleted=true&last_modified=${since}`,
    );
    expect(read.body.events.map((e: { event_uid: string }) => e.event_uid)).toEqual([event.event_uid]);

    sim.deleteEvent(account.accountId, event.event_uid);
    await vi.waitFor(() => expect(sim.deliveries.filter((d) => d.type === 'change' && d.ok)).toHaveLength(2));
    const deleted = sim.deliveries.filter((d) => d.type === 'change').at(-1)!;
    const afterDelete = await api(
      sim,
      account,
      'GET',
      `/v1/events?tzid=Etc/UTC&include_deleted=true&last_modified=${deleted.changesSince}`,
    );
    expect(afterDelete.body.events).toMatchObject([{ event_uid: event.event_uid, deleted: true }]);
  });

  it('respects filters.calendar_ids and filters.only_managed', async () => {
    const { sim, receiver, account } = await world();
    const work = await createChannel(sim, account, `${receiver.url}?work`, { calendar_ids: ['cal_work'] });
    const managed = await createChannel(sim, account, `${receiver.url}?managed`, { only_managed: true });
    expect(work.filters).toEqual({ calendar_ids: ['cal_work'] });
    expect(managed.filters).toEqual({ only_managed: true });
    const slot = { start: '2030-01-01T09:00:00Z', end: '2030-01-01T10:00:00Z' };
    sim.upsertEvent(account.accountId, { calendar_id: 'cal_home', summary: 'home', ...slot });
    sim.upsertEvent(account.accountId, { calendar_id: 'cal_work', summary: 'work', ...slot });
    sim.upsertEvent(account.accountId, { calendar_id: 'cal_home', summary: 'ours', event_id: 'x1', ...slot });
    await sim.settled();
    await vi.waitFor(() => expect(sim.deliveries.filter((d) => d.type === 'change')).toHaveLength(2));
    await sleep(50);
    await sim.settled();
    const changes = sim.deliveries.filter((d) => d.type === 'change');
    expect(changes.map((d) => d.channelId).sort()).toEqual([work.channel_id, managed.channel_id].sort());
  });

  it('pushes other notification types as given, with no changes_since', async () => {
    const { sim, receiver, account } = await world();
    await createChannel(sim, account, receiver.url);
    sim.pushNotification(account.accountId, 'profile_disconnected');
    sim.pushNotification(account.accountId, 'something_new', { detail: 'x' });
    await vi.waitFor(() => expect(receiver.received).toHaveLength(3));
    const byType = Object.fromEntries(
      receiver.received.map((p) => [p.json.notification.type, p.json.notification]),
    );
    expect(byType['profile_disconnected']).toEqual({ type: 'profile_disconnected' });
    expect(byType['something_new']).toEqual({ type: 'something_new', detail: 'x' });
  });
});

describe('channels', () => {
  it('identical request → the existing channel; at most 128 per account → 422', async () => {
    const { sim, receiver, account } = await world();
    const first = await createChannel(sim, account, `${receiver.url}?0`);
    expect((await createChannel(sim, account, `${receiver.url}?0`)).channel_id).toBe(first.channel_id);
    for (let i = 1; i < 128; i++) await createChannel(sim, account, `${receiver.url}?${i}`);
    const over = await api(sim, account, 'POST', '/v1/channels', { callback_url: `${receiver.url}?128` });
    expect(over.status).toBe(422);
    expect(over.body.errors.base).toHaveLength(1);
    expect((await api(sim, account, 'GET', '/v1/channels')).body.channels).toHaveLength(128);
    // An identical request is still answered at the limit.
    expect((await createChannel(sim, account, `${receiver.url}?0`)).channel_id).toBe(first.channel_id);
  });

  it('validates callback_url (required, http(s), at most 128 characters) and calendar filters', async () => {
    const { sim, account } = await world();
    const missing = await api(sim, account, 'POST', '/v1/channels', {});
    expect(missing).toEqual({
      status: 422,
      body: { errors: { callback_url: [{ key: 'errors.required', description: 'required' }] } },
    });
    expect((await api(sim, account, 'POST', '/v1/channels', { callback_url: 'ftp://x/y' })).status).toBe(422);
    const long = `http://127.0.0.1:9/${'a'.repeat(110)}`;
    expect(long.length).toBeGreaterThan(128);
    expect((await api(sim, account, 'POST', '/v1/channels', { callback_url: long })).status).toBe(422);
    const badFilter = await api(sim, account, 'POST', '/v1/channels', {
      callback_url: 'http://127.0.0.1:9/x',
      filters: { calendar_ids: ['cal_nope'] },
    });
    expect(badFilter.status).toBe(422);
  });

  it('DELETE → 202 then 404; a silently closed channel disappears and gets no more pushes', async () => {
    const { sim, receiver, account } = await world();
    const a = await createChannel(sim, account, `${receiver.url}?a`);
    const b = await createChannel(sim, account, `${receiver.url}?b`);
    expect((await api(sim, account, 'DELETE', `/v1/channels/${a.channel_id}`)).status).toBe(202);
    expect((await api(sim, account, 'DELETE', `/v1/channels/${a.channel_id}`)).status).toBe(404);
    expect(sim.closeChannelSilently(account.accountId, b.channel_id)).toBe(true);
    expect((await api(sim, account, 'GET', '/v1/channels')).body).toEqual({ channels: [] });
    await sim.settled();
    const before = sim.deliveries.length;
    sim.upsertEvent(account.accountId, { calendar_id: 'cal_work', start: '2030-01-01', end: '2030-01-02' });
    await sleep(50);
    expect(sim.deliveries.length).toBe(before);
  });
});

describe('failed deliveries', () => {
  it('are retried on the schedule, then the channel is closed silently once the window has passed', async () => {
    const { sim, receiver, account } = await world({
      deliveryRetryDelaysMs: [40, 80],
      channelRetryWindowMs: 400,
    });
    receiver.status = 500;
    const channel = await createChannel(sim, account, receiver.url);
    await vi.waitFor(() => expect(sim.channels(account.accountId)).toEqual([]), {
      timeout: 5000,
      interval: 20,
    });

    const attempts = sim.deliveries.filter((d) => d.channelId === channel.channel_id);
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(attempts.map((d) => d.notificationId)).size).toBe(1);
    expect(attempts.map((d) => d.attempt)).toEqual(attempts.map((_, i) => i + 1));
    expect(attempts.every((d) => d.status === 500 && !d.ok)).toBe(true);
    // Spaced by the schedule (40 ms, then 80 ms repeated), so about 6 tries fit in the window.
    const gaps = attempts.slice(1).map((d, i) => d.at.getTime() - attempts[i]!.at.getTime());
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps.slice(1).every((g) => g >= 75)).toBe(true);
    expect(attempts.length).toBeLessThanOrEqual(7);
    // The same bytes each time (same signature): a retry is the same notification.
    expect(new Set(receiver.received.map((p) => p.raw.toString())).size).toBe(1);
    // Not closed before the window had passed since the first failed attempt started.
    const closure = sim.closedChannels.find((c) => c.channel.channel_id === channel.channel_id)!;
    expect(closure.reason).toBe('delivery_failures');
    const firstStarted = attempts[0]!.at.getTime() - attempts[0]!.ms;
    expect(closure.at.getTime() - firstStarted).toBeGreaterThanOrEqual(395);
    expect((await api(sim, account, 'GET', '/v1/channels')).body.channels).toEqual([]);

    // Closed means closed: no more pushes, no leftover retries.
    receiver.status = 200;
    const count = sim.deliveries.length;
    sim.upsertEvent(account.accountId, { calendar_id: 'cal_work', start: '2030-01-01', end: '2030-01-02' });
    await sleep(150);
    expect(sim.deliveries.length).toBe(count);
  });

  it('a success within the window keeps the channel open', async () => {
    const { sim, receiver, account } = await world({
      deliveryRetryDelaysMs: [30],
      channelRetryWindowMs: 250,
    });
    receiver.status = 503;
    const channel = await createChannel(sim, account, receiver.url);
    await sim.waitForDelivery((d) => d.channelId === channel.channel_id && d.status === 503);
    receiver.status = 204;
    const ok = await sim.waitForDelivery((d) => d.channelId === channel.channel_id && d.ok);
    expect(ok.attempt).toBeGreaterThanOrEqual(2);
    await sleep(400);
    expect(sim.channels(account.accountId).map((c) => c.channel_id)).toEqual([channel.channel_id]);
    expect(sim.closedChannels).toEqual([]);
  });

  it('an answer slower than the delivery timeout is a failure, even if it is a 200', async () => {
    const { sim, receiver, account } = await world({
      deliveryTimeoutMs: 100,
      deliveryRetryDelaysMs: [60_000],
    });
    receiver.delayMs = 600;
    const channel = await createChannel(sim, account, receiver.url);
    const failed = await sim.waitForDelivery((d) => d.channelId === channel.channel_id);
    expect(failed).toMatchObject({ ok: false, error: 'timeout', attempt: 1 });
    expect(failed.status).toBeUndefined();
  });

  it('an unreachable callback is a failure too, and a DELETE cancels its pending retries', async () => {
    const { sim, account } = await world({ deliveryRetryDelaysMs: [60], channelRetryWindowMs: 10_000 });
    const channel = await createChannel(sim, account, 'http://127.0.0.1:1/unreachable');
    const first = await sim.waitForDelivery((d) => d.channelId === channel.channel_id);
    expect(first.ok).toBe(false);
    expect(first.error).toBe('ECONNREFUSED');
    expect((await api(sim, account, 'DELETE', `/v1/channels/${channel.channel_id}`)).status).toBe(202);
    const count = sim.deliveries.length;
    await sleep(200);
    expect(sim.deliveries.length).toBe(count);
  });
});
