/**
 * Notification bursts: how many Read Events runs one burst of 200 `change` notifications on one
 * account costs. Real stack (bench/lib/stack.ts): Cronofy simulator, API and worker processes,
 * Temporal dev server, MongoDB-protocol server, default timings (DEBOUNCE_QUIET 2 s, DEBOUNCE_MAX
 * 15 s) and Cronofy's default budget on both sides (simulator and service: 50/s, 500/min).
 *
 * Per burst: 200 events change in the simulator (without its own pushes), then the bench sends the
 * 200 signed pushes to `POST /cronofy/notifications/:accountId` as fast as the receiver takes them
 * (50 in flight, keep-alive). Counted from the simulator's request log: `GET /v1/events` with
 * `last_modified` (a Read Events run) and the `next_page` follow-ups; cross-checked with
 * `sync_runs`. Goal: 1 sync per burst.
 */
import http from 'node:http';
import { eventually, sleep } from '../scripts/lib/wait.js';
import { loadConfig } from '../src/config.js';
import type { SyncRunDoc } from '../src/store/db.js';
import { type BenchContext, type BenchModule, type BenchResult, envNumber } from './lib/module.js';
import { startBenchStack } from './lib/stack.js';
import { runIfMain } from './lib/standalone.js';
import { fmt, mark, summarize } from './lib/stats.js';
import { loadSampler } from './lib/sys.js';

const num = envNumber;

interface BurstResult {
  burst: number;
  accepted: number;
  rejected: number;
  refusals: string;
  sendMs: number;
  /** Longest gap between two consecutive accepted pushes, ms. */
  maxGapMs: number;
  /** From the last push answered until all 200 changes were in MongoDB, ms. */
  visibleAfterMs: number;
  readEventsRuns: number;
  pageFollowUps: number;
  otherCalls: number;
  rateLimited: number;
  syncRuns: number;
  syncRunKinds: string;
}

export const burstsBench: BenchModule = {
  id: 'bursts',
  title: 'Notification bursts: Read Events runs per burst of 200 notifications',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const bursts = num('BENCH_BURSTS', 5);
    const size = num('BENCH_BURST_SIZE', 200);
    const inFlight = num('BENCH_BURST_CONCURRENCY', 50);
    const quietMs = 2_000;
    const stack = await startBenchStack({ log: ctx.log });
    // The services see process.env under the stack's own variables (bench/lib/service-process.ts).
    const signalTimeoutMs = loadConfig({ ...process.env, ...stack.env }).http.signalTimeoutMs;
    const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
    const load = loadSampler();
    try {
      const accountId = 'burst-account';
      const sim = await stack.register(accountId);
      const calendarId = sim.calendarIds[0]!;
      ctx.log('bursts: waiting for the channel and the initial full sync');
      const channelId = await eventually(
        async () => {
          const s = await stack.admin('GET', `/accounts/${accountId}`);
          const b = s.body as { channel?: { id?: string | null }; lastSyncs?: { full?: unknown } };
          return b.lastSyncs?.full && b.channel?.id ? b.channel.id : undefined;
        },
        60_000,
        'initial full sync',
        200,
      );
      const events = stack.db.collection('events');
      const syncRuns = stack.db.collection<SyncRunDoc>('sync_runs');
      const url = new URL(`${stack.apiUrl}/cronofy/notifications/${accountId}`);
      const push = (changesSince: string) =>
        new Promise<number>((resolve) => {
          const { body, headers } = stack.signedChange(accountId, channelId, changesSince);
          const req = http.request(
            { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', () => resolve(0));
          req.end(body);
        });

      const results: BurstResult[] = [];
      for (let b = 1; b <= bursts; b++) {
        // Quiet before each burst, so the previous one is fully settled.
        await sleep(quietMs * 2);
        const reqIndex = stack.sim.requests.length;
        const started = new Date();
        const base = Date.now() + 30 * 86_400_000;
        const changed = Array.from({ length: size }, (_, i) =>
          stack.sim.upsertEvent(
            accountId,
            {
              calendar_id: calendarId,
              event_uid: `evt-b${b}-${i}`,
              summary: `burst ${b} change ${i}`,
              start: new Date(base + i * 3_600_000),
              end: new Date(base + i * 3_600_000 + 1_800_000),
            },
            { notify: false },
          ),
        );
        ctx.log(`bursts: burst ${b}/${bursts}: ${size} pushes, ${inFlight} in flight`);
        const t0 = performance.now();
        const acceptedAt: number[] = [];
        const refusals = new Map<number, number>();
        let next = 0;
        let rejected = 0;
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (next < changed.length) {
              const e = changed[next++]!;
              // A refused push is retried at once (Cronofy would retry it later, see the note).
              for (let attempt = 1; ; attempt++) {
                const status = await push(e.updated as string);
                if (status === 202) {
                  acceptedAt.push(performance.now());
                  break;
                }
                rejected++;
                refusals.set(status, (refusals.get(status) ?? 0) + 1);
                if (attempt === 10) break;
                await sleep(100 * attempt);
              }
            }
          }),
        );
        const sendMs = performance.now() - t0;
        const lastAnswer = performance.now();
        acceptedAt.sort((x, y) => x - y);
        let maxGap = 0;
        for (let i = 1; i < acceptedAt.length; i++)
          maxGap = Math.max(maxGap, acceptedAt[i]! - acceptedAt[i - 1]!);
        await eventually(
          async () =>
            (await events.countDocuments({ accountId, eventUid: { $regex: `^evt-b${b}-` } })) === size,
          120_000,
          `burst ${b} changes in MongoDB`,
          50,
        );
        const visibleAfterMs = performance.now() - lastAnswer;
        // Anything the burst still triggers (a second sync) comes within the debounce cap.
        await sleep(quietMs + 3_000);
        const calls = stack.sim.requests.slice(reqIndex);
        const runs = await syncRuns.find({ accountId, startedAt: { $gte: started } }).toArray();
        results.push({
          burst: b,
          accepted: acceptedAt.length,
          rejected,
          refusals: [...refusals].map(([s, n]) => `${n}× ${s || 'no answer'}`).join(', '),
          sendMs,
          maxGapMs: maxGap,
          visibleAfterMs,
          readEventsRuns: calls.filter((c) => c.path === '/v1/events' && c.query.includes('last_modified='))
            .length,
          pageFollowUps: calls.filter((c) => c.path.startsWith('/v1/events/pages/')).length,
          otherCalls: calls.filter((c) => !c.path.startsWith('/v1/events')).length,
          rateLimited: calls.filter((c) => c.status === 429).length,
          syncRuns: runs.length,
          syncRunKinds: [...new Set(runs.map((r) => r.kind))].join(', ') || '–',
        });
      }
      const loadNote = load.stop();

      const allOne = results.every((r) => r.readEventsRuns === 1 && r.syncRuns === 1);
      const totalRuns = results.reduce((s, r) => s + r.readEventsRuns, 0);
      const send = summarize(results.map((r) => r.sendMs));
      const lines = [
        `Command: \`${ctx.command}\`, run ${ctx.date} on ${ctx.machine}; ${loadNote} (the machine was shared).`,
        '',
        `Stack: Cronofy simulator (page size 50, budget 50/s and 500/min), API and worker in their own processes ` +
          `(production \`startApi\`/\`startWorker\`, default timings: DEBOUNCE_QUIET 2 s, DEBOUNCE_MAX 15 s), ` +
          `Temporal dev server (in memory), ${stack.mongoServer.kind}. One account; per burst ${size} events change in the simulator, ` +
          `then ${size} signed \`change\` pushes (each with its event's \`updated\` as \`changes_since\`) go to ` +
          `\`POST /cronofy/notifications/:accountId\` as fast as the receiver answers (${inFlight} in flight, keep-alive). ` +
          `Counted from the simulator's request log: Read Events runs = \`GET /v1/events\` with \`last_modified\`; ` +
          `cross-checked with \`sync_runs\`.`,
        '',
        '| burst | pushes accepted | first answers refused (retried at once) | send time (ms) | max gap between pushes (ms) | last push → all 200 in MongoDB (ms) | Read Events runs | next_page follow-ups | other Cronofy calls | 429s | sync_runs |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
        ...results.map(
          (r) =>
            `| ${r.burst} | ${r.accepted}/${size} | ${r.rejected ? r.refusals : '0'} | ${fmt(r.sendMs)} | ${fmt(r.maxGapMs)} | ${fmt(r.visibleAfterMs)} | **${r.readEventsRuns}** | ${r.pageFollowUps} | ${r.otherCalls} | ${r.rateLimited} | ${r.syncRuns} (${r.syncRunKinds}) |`,
        ),
        '',
        `**Read Events runs per burst of ${size}: ${results.map((r) => r.readEventsRuns).join(', ')}** ` +
          `(${totalRuns} for ${bursts} bursts; goal 1 per burst: ${mark(allOne)}). ` +
          `A burst took ${fmt(send.min)}–${fmt(send.max)} ms to deliver; the debounce (sync ${quietMs / 1000} s after the last ` +
          `notification, at most 15 s after the first) coalesces it as long as no gap between pushes reaches the quiet period. ` +
          `Each run reads the ${size} changed events in ${Math.ceil(size / 50)} pages (1 Read Events + ${Math.ceil(size / 50) - 1} \`next_page\`).`,
        '',
        ...(results.some((r) => r.rejected > 0)
          ? [
              `Refused pushes: ${results.reduce((s, r) => s + r.rejected, 0)} of ${bursts * size} first answers were not \`202\` ` +
                `(${[...new Set(results.flatMap((r) => (r.refusals ? [r.refusals] : [])))].join('; ')}): the receiver answers \`503\` when ` +
                `signal-with-start does not complete within SIGNAL_TIMEOUT (${signalTimeoutMs} ms) on this loaded machine. The bench retries them at once, so ` +
                'they still fall inside the burst; Cronofy retries a failed delivery only after a delay (unknown; the simulator uses 30 s), ' +
                'and each such late retry would cost one more incremental sync for its burst.',
              '',
            ]
          : []),
        'Knobs: `BENCH_BURSTS`, `BENCH_BURST_SIZE`, `BENCH_BURST_CONCURRENCY`.',
      ];
      return {
        markdown: lines.join('\n'),
        goalsMet: allOne,
        summary: `Read Events runs per burst of ${size}: ${results.map((r) => r.readEventsRuns).join(', ')} (goal 1)`,
      };
    } finally {
      agent.destroy();
      await stack.close();
    }
  },
};

await runIfMain(burstsBench, import.meta.url);
