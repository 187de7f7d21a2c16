/**
 * Webhooks: from the MongoDB write of a change to a subscriber's 2xx for the message carrying it.
 * Real stack (bench/lib/stack.ts: API and worker processes, the simulator pushing to the receiver
 * as Cronofy does, default timings and Cronofy budget), N accounts, one webhook subscribed to all
 * of them, and a real HTTP subscriber in this process that verifies every signature with the
 * `standardwebhooks` library (a message that fails verification is answered 401 and counted).
 *
 * Phases:
 * - `steady`: the freshness benchmark's fit load (5 changes/s) for a while: latency added by the
 *   webhook = subscriber's 2xx time − the change's `syncedAt` (set as its page is written), per
 *   change, p50/p99 (goal: p99 ≤ 1 s);
 * - `burst`: many changes at once on a few accounts: changes delivered per second to the one
 *   endpoint while it drains;
 * - `outage`: the subscriber answers 503 for a minute while the load goes on, then recovers:
 *   nothing lost, order kept, and how long the catch-up takes after it recovers.
 * At the end the subscriber's copy (built only from what it acknowledged) is compared with
 * `events`: 0 missing, 0 stale, 0 phantom, 0 out of order are goals too.
 */
import { eventually, sleep } from '../scripts/lib/wait.js';
import { type BenchContext, type BenchModule, type BenchResult, envNumber } from './lib/module.js';
import { paced } from './lib/pace.js';
import { type BenchStack, registerAll, startBenchStack } from './lib/stack.js';
import { runIfMain } from './lib/standalone.js';
import { fmt, summarize } from './lib/stats.js';
import { loadSampler } from './lib/sys.js';
import { type Subscriber, startSubscriber } from './lib/webhook-subscriber.js';

const num = envNumber;

const GOAL_P99_MS = 1_000;

/** Per change delivered in `from..`: 2xx time − `syncedAt`, and whether its uid matches `prefix`. */
function latencies(sub: Subscriber, from: number, prefix: string): number[] {
  const out: number[] = [];
  for (const d of sub.delivered.slice(from)) {
    for (const ch of d.changes) {
      if (!ch.eventUid.startsWith(prefix)) continue;
      out.push(d.receivedAt - new Date(ch.event.syncedAt).getTime());
    }
  }
  return out;
}

function changedCount(sub: Subscriber, from: number, prefix: string): number {
  let n = 0;
  for (const d of sub.delivered.slice(from))
    for (const ch of d.changes) if (ch.eventUid.startsWith(prefix)) n++;
  return n;
}

/** Every change with `prefix` has been acknowledged (at least `count` of them). */
async function waitDelivered(sub: Subscriber, from: number, prefix: string, count: number, ms: number) {
  await eventually(
    async () => changedCount(sub, from, prefix) >= count,
    ms,
    `${count} ${prefix} changes delivered`,
    200,
  );
}

export const webhooksBench: BenchModule = {
  id: 'webhooks',
  title: 'Webhooks: MongoDB write → subscriber 2xx',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const nAccounts = num('BENCH_WEBHOOKS_ACCOUNTS', 100);
    const steadySeconds = num('BENCH_WEBHOOKS_SECONDS', 90);
    const rate = num('BENCH_WEBHOOKS_RATE', 5);
    const burstChanges = num('BENCH_WEBHOOKS_BURST', 2_000);
    const outageSeconds = num('BENCH_WEBHOOKS_OUTAGE_SECONDS', 60);
    let secret = '';
    const sub = startSubscriber(() => secret);
    const url = await sub.listen();
    const stack: BenchStack = await startBenchStack({
      log: ctx.log,
      sim: { rateLimit: false },
      env: { CRONOFY_RATE_LIMIT_PER_SECOND: '10000', CRONOFY_RATE_LIMIT_PER_MINUTE: '600000' },
    });
    const load = loadSampler();
    try {
      const accounts = Array.from({ length: nAccounts }, (_, i) => `wh-acc-${i}`);
      ctx.log(`webhooks: registering ${nAccounts} accounts`);
      const calendars = await registerAll(stack, accounts);
      // The steady phase runs on Cronofy's default budget, like the freshness benchmark's fit phase.
      const budget = { perSecond: 50, perMinute: 500 };
      stack.simOptions.rateLimit = { ...budget };
      await stack.restartWorker({
        CRONOFY_RATE_LIMIT_PER_SECOND: String(budget.perSecond),
        CRONOFY_RATE_LIMIT_PER_MINUTE: String(budget.perMinute),
      });
      const created = await stack.admin('POST', '/webhooks', { url, description: 'benchmark subscriber' });
      if (created.status !== 201)
        throw new Error(`POST /webhooks: ${created.status} ${JSON.stringify(created.body)}`);
      secret = (created.body as { secret: string }).secret;
      ctx.log(
        'webhooks: a quiet minute (budget windows start alike), the subscriber catches up on the initial events',
      );
      await sleep(61_000);

      const base = Date.now() + 20 * 86_400_000;
      let seed = 4242;
      const random = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 4294967296;
      };
      const change = (
        prefix: string,
        i: number,
        accountId = accounts[Math.floor(random() * accounts.length)]!,
      ) =>
        stack.sim.upsertEvent(accountId, {
          calendar_id: calendars.get(accountId)!,
          event_uid: `${prefix}-${i}`,
          summary: `${prefix} ${i}`,
          start: new Date(base + i * 60_000),
          end: new Date(base + i * 60_000 + 1_800_000),
        });

      // ---- steady ----------------------------------------------------------------------------
      ctx.log(`webhooks: steady, ${rate} changes/s for ${steadySeconds} s`);
      const steadyFrom = sub.delivered.length;
      const steady = await paced(rate, steadySeconds * 1000, (i) => change('st', i));
      await waitDelivered(sub, steadyFrom, 'st-', steady.fired, 300_000);
      const steadyLat = summarize(latencies(sub, steadyFrom, 'st-'));

      // ---- burst -----------------------------------------------------------------------------
      const burstAccounts = accounts.slice(0, 10);
      ctx.log(`webhooks: burst of ${burstChanges} changes on ${burstAccounts.length} accounts`);
      const burstFrom = sub.delivered.length;
      const burstStart = Date.now();
      for (let i = 0; i < burstChanges; i++) change('bu', i, burstAccounts[i % burstAccounts.length]);
      await waitDelivered(sub, burstFrom, 'bu-', burstChanges, 600_000);
      const burstDeliveries = sub.delivered
        .slice(burstFrom)
        .filter((d) => d.changes.some((c) => c.eventUid.startsWith('bu-')));
      const firstAt = burstDeliveries[0]?.receivedAt ?? burstStart;
      const lastAt = burstDeliveries[burstDeliveries.length - 1]?.receivedAt ?? burstStart;
      const burstRate = burstChanges / Math.max(0.001, (lastAt - firstAt) / 1000);
      const burstTotalS = (lastAt - burstStart) / 1000;
      const burstMessages = burstDeliveries.length;

      // ---- outage ----------------------------------------------------------------------------
      ctx.log(`webhooks: the subscriber answers 503 for ${outageSeconds} s under ${rate} changes/s`);
      const outFrom = sub.delivered.length;
      const refusedBefore = sub.stats.refused;
      sub.setFailing(true);
      const outage = await paced(rate, outageSeconds * 1000, (i) => change('ou', i));
      sub.setFailing(false);
      const recoveredAt = Date.now();
      await waitDelivered(sub, outFrom, 'ou-', outage.fired, 900_000);
      const outDeliveries = sub.delivered.slice(outFrom);
      const catchUpS =
        ((outDeliveries[outDeliveries.length - 1]?.receivedAt ?? recoveredAt) - recoveredAt) / 1000;
      const refused = sub.stats.refused - refusedBefore;

      // ---- the copy --------------------------------------------------------------------------
      // Whatever else is still on its way (the initial events, late retries) first.
      await eventually(
        async () => {
          const c = await sub.copy.compare(stack.db, accounts);
          return c.missing + c.stale + c.phantom === 0;
        },
        300_000,
        'the subscriber copy equal to events',
        2_000,
      ).catch(() => undefined);
      const compared = await sub.copy.compare(stack.db, accounts);
      const lost = compared.missing + compared.stale + compared.phantom;
      const loadNote = load.stop();
      const goalsMet =
        steadyLat.p99 <= GOAL_P99_MS &&
        lost === 0 &&
        sub.copy.outOfOrder === 0 &&
        sub.stats.badSignatures === 0;

      const markdown = [
        `Command: \`${ctx.command}\`, run ${ctx.date} on ${ctx.machine}; ${loadNote}.`,
        '',
        `${nAccounts} accounts, one webhook subscribed to all of them; the subscriber is a node:http server in the benchmark process that verifies every message with \`standardwebhooks\` (\`new Webhook(secret).verify(body, headers)\`) before answering 204. Service defaults: \`DEBOUNCE_QUIET\` 2 s, Cronofy's default budget (50/s, 500/min) after registration, \`WEBHOOK_RATE_LIMIT\` 20/s, \`WEBHOOK_MAX_CHANGES\` 100, retries from 5 s doubling. Latency of a change = the subscriber's 2xx time − the change's \`syncedAt\` (its MongoDB write), both on this machine's clock.`,
        '',
        '| phase | load | changes | delivered in | p50 | p90 | p99 | max |',
        '|---|---|---|---|---|---|---|---|',
        `| steady | ${rate}/s for ${steadySeconds} s | ${steady.fired} | ${steadyLat.n} changes | ${fmt(steadyLat.p50)} ms | ${fmt(steadyLat.p90)} ms | **${fmt(steadyLat.p99)} ms** | ${fmt(steadyLat.max)} ms |`,
        '',
        `**Burst**: ${burstChanges} changes written at once on ${burstAccounts.length} accounts reached the endpoint in ${burstMessages} messages, at **${fmt(burstRate)} changes/s** from its first to its last message (${fmt(burstTotalS)} s from the writes in the simulator to the last 2xx, syncs included).`,
        '',
        `**Outage**: the subscriber answered 503 for ${outageSeconds} s while ${outage.fired} changes were made (${refused} attempts refused); after it recovered, the last of them arrived **${fmt(catchUpS)} s** later (the retry backoff: 5 s doubling, so the first retry after a minute's outage comes up to ~1 min after it ends).`,
        '',
        `**The subscriber's copy** against \`events\` at the end: **${compared.missing} missing, ${compared.stale} stale, ${compared.phantom} phantom**, **${sub.copy.outOfOrder} out of order**; ${sub.stats.messages} messages received, ${sub.stats.acknowledged} acknowledged, ${sub.stats.redelivered} acknowledged again (at least once: a retry of a message whose 2xx arrived late), ${sub.stats.badSignatures} failed verification.`,
        '',
        `Goals: p99 ≤ ${GOAL_P99_MS} ms added to freshness (${steadyLat.p99 <= GOAL_P99_MS ? 'met' : 'missed'}), 0 lost (${lost === 0 ? 'met' : 'missed'}), 0 out of order (${sub.copy.outOfOrder === 0 ? 'met' : 'missed'}).`,
      ].join('\n');
      return {
        markdown,
        goalsMet,
        summary: `steady p99 ${fmt(steadyLat.p99)} ms; burst ${fmt(burstRate)} changes/s; outage catch-up ${fmt(catchUpS)} s; lost ${lost}, out of order ${sub.copy.outOfOrder}`,
      };
    } finally {
      await stack.close();
      await sub.close();
    }
  },
};

await runIfMain(webhooksBench, import.meta.url);
