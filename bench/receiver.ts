/**
 * Receiver benchmark: notifications/s and latency through the whole receiver (real HTTP over
 * loopback → HMAC → JSON schema → signal-with-start on a real Temporal dev server), against bare
 * `client.workflow.signalWithStart` calls at the same offered rate and concurrency, in the same
 * run. Goals, at 200/s offered: throughput ratio (receiver / bare) >= 0.9 and receiver p99 <= 50 ms.
 * A light level (20/s) is measured too, to separate what the receiver costs from what a busy
 * machine costs.
 *
 * The receiver runs in its own process (as in production); the load generator and the bare client
 * run in this one; the Temporal dev server (in memory, headless) is started here and stopped at
 * the end. Account workflows are started before measuring (notifications are for registered
 * accounts), no worker runs (both paths pay the same server work), and the two paths alternate
 * in ABBA order (receiver, bare, bare, receiver) so drift in the server falls on both alike.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { startTemporalDevServer, TEMPORAL_CLI_VERSION } from '../scripts/lib/servers.js';
import { DEFAULT_TIMINGS } from '../src/config.js';
import { signatureHeader } from '../src/cronofy/hmac.js';
import type { AccountSyncInput } from '../src/workflows/input.js';
import { notificationSignal, WORKFLOW_TYPE, workflowIdFor } from '../src/workflows/messages.js';
import { CronofyAccountId, CronofySyncState } from '../src/workflows/search-attributes.js';
import { type LoadResult, mergeResults, percentile, runOpenLoop, throughput } from './lib/load.js';
import { type BenchContext, type BenchModule, type BenchResult, envNumber } from './lib/module.js';
import type { ReceiverServerMessage } from './receiver-server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const num = envNumber;

const SECRET = 'CRN_bench_secret_0123456789abcdef0123';
const TASK_QUEUE = 'bench-receiver';
const PUBLIC_URL = 'http://127.0.0.1:3000';
const GOAL_RATIO = 0.9;
const GOAL_P99_MS = 50;

type Path = 'receiver' | 'bare';

/** CPU time (ms) of a process from /proc (Linux, USER_HZ = 100); undefined elsewhere. */
function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime: fields 14 and 15 of the line, 12th and 13th after "pid (comm) ".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Busy CPU time (ms) of the whole machine, all cores, from /proc/stat; undefined elsewhere. */
function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...ticks] = line.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return ((total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) * 1000) / 100;
  } catch {
    return undefined;
  }
}

function startReceiverProcess(temporalAddress: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'bench', 'receiver-server.ts')],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        LOCAL_MODE: '1', // all on loopback
        CRONOFY_CLIENT_ID: 'bench',
        CRONOFY_CLIENT_SECRET: SECRET,
        TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
        HOST: '127.0.0.1',
        PORT: '0',
        PUBLIC_URL,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_TASK_QUEUE: TASK_QUEUE,
        LOG_LEVEL: 'info',
      },
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('receiver process did not start within 60 s')), 60_000);
    child.once('exit', (code) =>
      reject(new Error(`receiver process exited with code ${code} before listening`)),
    );
    child.on('message', (m: ReceiverServerMessage) => {
      if (m.kind === 'listening') {
        clearTimeout(timer);
        resolve({ child, url: m.url });
      }
    });
  });
}

/** Sends `message` to the receiver process and resolves with its first answer of `kind`. */
function ask<K extends ReceiverServerMessage['kind']>(
  child: ChildProcess,
  message: object,
  kind: K,
): Promise<Extract<ReceiverServerMessage, { kind: K }>> {
  return new Promise((resolve) => {
    const onMessage = (m: ReceiverServerMessage) => {
      if (m.kind !== kind) return;
      child.off('message', onMessage);
      resolve(m as Extract<ReceiverServerMessage, { kind: K }>);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

const receiverCpuMs = async (child: ChildProcess) => {
  const m = await ask(child, { kind: 'cpu' }, 'cpu');
  return m.userMs + m.systemMs;
};

interface Phase {
  path: Path;
  result: LoadResult;
  /** CPU ms spent during the phase by each process, and by the whole machine. */
  cpu: { receiver: number; temporal: number | undefined; bench: number; machine: number | undefined };
}

interface Summary {
  result: LoadResult;
  tput: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  service50: number;
  service99: number;
  seconds: number;
  cpu: { receiver: number; temporal: number | undefined; bench: number; machine: number | undefined };
}

function summarise(phases: readonly Phase[]): Summary {
  const result = mergeResults(phases.map((p) => p.result));
  const sumOrUndefined = (values: (number | undefined)[]) =>
    values.some((v) => v === undefined) ? undefined : values.reduce((n, v) => n! + v!, 0);
  return {
    result,
    tput: throughput(result),
    p50: percentile(result.latencies, 50),
    p90: percentile(result.latencies, 90),
    p99: percentile(result.latencies, 99),
    max: percentile(result.latencies, 100),
    service50: percentile(result.serviceTimes, 50),
    service99: percentile(result.serviceTimes, 99),
    seconds: result.elapsedMs / 1000,
    cpu: {
      receiver: phases.reduce((n, p) => n + p.cpu.receiver, 0),
      temporal: sumOrUndefined(phases.map((p) => p.cpu.temporal)),
      bench: phases.reduce((n, p) => n + p.cpu.bench, 0),
      machine: sumOrUndefined(phases.map((p) => p.cpu.machine)),
    },
  };
}

interface Level {
  rate: number;
  seconds: number;
  receiver: Summary;
  bare: Summary;
}

export const receiverBench: BenchModule = {
  id: 'receiver',
  title: 'Receiver: Cronofy push → signal-with-start',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const rate = num('BENCH_RECEIVER_RATE', 200);
    const lightRate = num('BENCH_RECEIVER_LIGHT_RATE', 20);
    const concurrency = num('BENCH_RECEIVER_CONCURRENCY', 16);
    const seconds = num('BENCH_RECEIVER_SECONDS', 20);
    const lightSeconds = num('BENCH_RECEIVER_LIGHT_SECONDS', 10);
    const warmupSeconds = num('BENCH_RECEIVER_WARMUP_SECONDS', 3);
    const accounts = num('BENCH_RECEIVER_ACCOUNTS', 500);
    const rounds = num('BENCH_RECEIVER_ROUNDS', 2);
    const profileFile = process.env.BENCH_RECEIVER_PROFILE;

    ctx.log('receiver: starting the Temporal dev server (in memory, headless)');
    const temporal = await startTemporalDevServer({ ui: false });
    let receiver: ChildProcess | undefined;
    let connection: Connection | undefined;
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    try {
      ctx.log('receiver: starting the receiver process');
      const started = await startReceiverProcess(temporal.address);
      const child = started.child;
      receiver = child;
      const base = new URL(started.url.replace('0.0.0.0', '127.0.0.1'));
      connection = await Connection.connect({ address: temporal.address });
      const client = new Client({ connection, namespace: 'default' });

      // One signed body per account: a push names its account in `channel.callback_url`, and the
      // receiver refuses it on any other account's path. Built before the clock starts.
      const signedFor = (accountId: string) => {
        const body = Buffer.from(
          JSON.stringify({
            notification: { type: 'change', changes_since: '2026-03-01T10:00:00Z' },
            channel: {
              channel_id: 'chn_bench',
              callback_url: `${PUBLIC_URL}/cronofy/notifications/${accountId}`,
              filters: {},
            },
          }),
        );
        const headers = {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(body.length),
          'cronofy-hmac-sha256': signatureHeader(body, [SECRET]),
        };
        return { body, headers };
      };
      const pushes = Array.from({ length: accounts }, (_, i) => signedFor(`r-${i}`));
      const viaReceiver = (i: number) =>
        new Promise<boolean>((resolve) => {
          const { body, headers } = pushes[i % accounts] as ReturnType<typeof signedFor>;
          const req = http.request(
            {
              host: base.hostname,
              port: base.port,
              method: 'POST',
              path: `/cronofy/notifications/r-${i % accounts}`,
              headers,
              agent,
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 202));
              res.on('error', () => resolve(false));
            },
          );
          req.on('error', () => resolve(false));
          req.end(body);
        });
      // The options AccountWorkflows builds for an account (its `startOptions` is private).
      const startOptions = (accountId: string) => {
        const input: AccountSyncInput = {
          accountId,
          timings: DEFAULT_TIMINGS,
          callbackUrl: `${PUBLIC_URL}/cronofy/notifications/${accountId}`,
        };
        return {
          workflowId: workflowIdFor(accountId),
          taskQueue: TASK_QUEUE,
          args: [input] as [AccountSyncInput],
          staticSummary: `Cronofy account ${accountId}`,
          typedSearchAttributes: new TypedSearchAttributes([
            { key: CronofyAccountId, value: accountId },
            { key: CronofySyncState, value: 'active' },
          ]),
        };
      };
      // What the receiver's hand-off does, minus HTTP.
      const bare = async (i: number) => {
        await client.workflow.signalWithStart(WORKFLOW_TYPE, {
          ...startOptions(`b-${i % accounts}`),
          signal: notificationSignal,
          signalArgs: [
            {
              type: 'change',
              changesSince: '2026-03-01T10:00:00Z',
              channelId: 'chn_bench',
              receivedAt: new Date().toISOString(),
            },
          ],
        });
        return true;
      };

      // Steady state: notifications come for registered accounts, whose workflows already run.
      ctx.log(`receiver: starting ${2 * accounts} account workflows`);
      const setupStarted = performance.now();
      const ids = [...Array(accounts).keys()].flatMap((i) => [`r-${i}`, `b-${i}`]);
      await Promise.all(
        [...Array(8).keys()].map(async () => {
          for (let id = ids.pop(); id !== undefined; id = ids.pop()) {
            await client.workflow.start(WORKFLOW_TYPE, startOptions(id));
          }
        }),
      );
      const setupMs = performance.now() - setupStarted;

      const next: Record<Path, number> = { receiver: 0, bare: 0 };
      const runPhase = async (which: Path, phaseRate: number, durationMs: number): Promise<Phase> => {
        const before = {
          r: await receiverCpuMs(child),
          t: procCpuMs(temporal.pid),
          b: process.cpuUsage(),
          m: machineBusyMs(),
        };
        const result = await runOpenLoop({
          rate: phaseRate,
          durationMs,
          concurrency,
          fire: which === 'receiver' ? viaReceiver : bare,
          firstIndex: next[which],
        });
        next[which] += result.offered;
        const t = procCpuMs(temporal.pid);
        const m = machineBusyMs();
        const b = process.cpuUsage(before.b);
        return {
          path: which,
          result,
          cpu: {
            receiver: (await receiverCpuMs(child)) - before.r,
            temporal: t !== undefined && before.t !== undefined ? t - before.t : undefined,
            bench: (b.user + b.system) / 1000,
            machine: m !== undefined && before.m !== undefined ? m - before.m : undefined,
          },
        };
      };
      // `rounds` repetitions of ABBA: short alternating blocks, so that load from outside the
      // benchmark (a shared machine) falls on both paths alike.
      const measure = async (levelRate: number, levelSeconds: number): Promise<Level> => {
        const block = (levelSeconds * 1000) / (2 * rounds);
        const phases: Phase[] = [];
        for (let round = 0; round < rounds; round++) {
          ctx.log(`receiver: ${levelRate}/s, round ${round + 1}/${rounds} (ABBA, ${block / 1000} s blocks)`);
          for (const which of ['receiver', 'bare', 'bare', 'receiver'] as const) {
            phases.push(await runPhase(which, levelRate, block));
          }
        }
        return {
          rate: levelRate,
          seconds: levelSeconds,
          receiver: summarise(phases.filter((p) => p.path === 'receiver')),
          bare: summarise(phases.filter((p) => p.path === 'bare')),
        };
      };

      ctx.log(`receiver: warm-up, ${warmupSeconds} s per path`);
      await runPhase('receiver', rate, warmupSeconds * 1000);
      await runPhase('bare', rate, warmupSeconds * 1000);
      if (profileFile) child.send({ kind: 'profile-start' });
      const main = await measure(rate, seconds);
      if (profileFile) {
        await ask(child, { kind: 'profile-stop', file: path.resolve(profileFile) }, 'profiled');
        ctx.log(`receiver: CPU profile of the ${rate}/s level written to ${profileFile}`);
      }
      const light = await measure(lightRate, lightSeconds);
      return report(ctx, { concurrency, warmupSeconds, accounts, setupMs, rounds }, main, light);
    } finally {
      agent.destroy();
      await connection?.close().catch(() => undefined);
      if (receiver && receiver.exitCode === null) {
        const exited = new Promise((resolve) => receiver?.once('exit', resolve));
        receiver.kill('SIGTERM');
        await exited;
      }
      await temporal.stop();
    }
  },
};

const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : v < 10 ? v.toFixed(2) : v.toFixed(1));

function report(
  ctx: BenchContext,
  p: { concurrency: number; warmupSeconds: number; accounts: number; setupMs: number; rounds: number },
  main: Level,
  light: Level,
): BenchResult {
  const ratio = main.bare.tput > 0 ? main.receiver.tput / main.bare.tput : 0;
  const ratioOk = ratio >= GOAL_RATIO;
  const p99Ok = main.receiver.p99 <= GOAL_P99_MS && main.receiver.result.failed === 0;
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  const row = (level: Level, name: string, s: Summary) =>
    `| ${level.rate}/s | ${name} | ${s.result.offered} | ${s.result.ok} | ${s.result.failed} | ${s.tput.toFixed(1)} | ` +
    `${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} | ${ms(s.service50)} / ${ms(s.service99)} | ${s.result.maxQueued} |`;
  const perNotification = (total: number | undefined, s: Summary) =>
    total === undefined || s.result.ok === 0
      ? 'n/a'
      : `${ms(total / s.result.ok)} (${Math.round(total / s.seconds / 10)}%)`;
  const cpuRow = (level: Level, name: string, s: Summary) => {
    const { receiver, temporal, bench, machine } = s.cpu;
    const others =
      machine === undefined || temporal === undefined ? undefined : machine - receiver - temporal - bench;
    const cores = (v: number | undefined) => (v === undefined ? 'n/a' : (v / s.seconds / 1000).toFixed(2));
    return (
      `| ${level.rate}/s | ${name} | ${perNotification(receiver, s)} | ${perNotification(temporal, s)} | ` +
      `${perNotification(bench, s)} | ${cores(machine)} | ${cores(others)} |`
    );
  };

  const markdown = [
    `Command: \`${ctx.command}\`, run ${ctx.date} on ${ctx.machine}. ` +
      `Temporal CLI ${TEMPORAL_CLI_VERSION} dev server (in-memory SQLite, headless) on the same machine.`,
    '',
    `Load: open loop at a fixed offered rate with at most **${p.concurrency} requests in flight** (a request that finds every slot busy waits, ` +
      'and the wait counts in its latency). Per level, each path is measured for the time shown, split into ' +
      `${p.rounds} rounds of ABBA blocks (receiver, bare, bare, receiver), after ${p.warmupSeconds} s of warm-up per path. ` +
      `Each path cycles over its own ${p.accounts} accounts whose workflows were started first ` +
      `(${2 * p.accounts} starts in ${(p.setupMs / 1000).toFixed(1)} s, 8 in flight), so every call signals a running workflow; no worker runs.`,
    '',
    '- **receiver**: a signed `change` notification, `POST /cronofy/notifications/<id>` over loopback HTTP/1.1 keep-alive to the receiver in ' +
      'its own process (production `buildServer`, info logs written to /dev/null, lazy Temporal connection); success = `202`.',
    '- **bare**: `client.workflow.signalWithStart` from the bench process with the options the receiver builds; success = resolved.',
    '',
    'Latency in ms, from the scheduled send time to the answer; "service" is from the actual send.',
    '',
    '| offered | path | requests | ok | failed | notifications/s | p50 | p90 | p99 | max | service p50 / p99 | max queued |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    row(main, 'receiver', main.receiver),
    row(main, 'bare signalWithStart', main.bare),
    row(light, 'receiver', light.receiver),
    row(light, 'bare signalWithStart', light.bare),
    '',
    `At ${main.rate}/s (${main.seconds} s per path): **throughput ratio receiver / bare ${ratio.toFixed(3)}** (goal ≥ ${GOAL_RATIO}: ${mark(ratioOk)}); ` +
      `**receiver p99 ${ms(main.receiver.p99)} ms** (goal ≤ ${GOAL_P99_MS} ms with no failures: ${mark(p99Ok)}). ` +
      `At ${light.rate}/s (${light.seconds} s per path) the receiver adds ${ms(light.receiver.p50 - light.bare.p50)} ms at p50 ` +
      `and ${ms(light.receiver.p99 - light.bare.p99)} ms at p99 to a bare call.`,
    '',
    `CPU per notification in ms (and the share of one core it kept busy) during the measured phases; the last two columns are ` +
      `whole cores busy on the machine (${os.cpus().length} cores) and how many of them went to processes outside this benchmark ` +
      "(other work on a shared machine: figures taken while it is high are not the receiver's own):",
    '',
    '| offered | path | receiver process | Temporal dev server | bench process (HTTP load generator or bare client) | machine busy (cores) | of which other processes |',
    '|---|---|---|---|---|---|---|',
    cpuRow(main, 'receiver', main.receiver),
    cpuRow(main, 'bare signalWithStart', main.bare),
    cpuRow(light, 'receiver', light.receiver),
    cpuRow(light, 'bare signalWithStart', light.bare),
    '',
    'Reading the figures: both paths end in the same Temporal call, so the ratio and the light-level difference are what the receiver ' +
      '(HTTP, HMAC, JSON schema, logging) costs. Everything runs on one machine: when the machine is near its cores (machine busy ' +
      'column), latency is queueing for CPU between the receiver, the dev server and the load generator, not work the receiver does.',
    '',
    'Knobs (environment): `BENCH_RECEIVER_RATE`, `BENCH_RECEIVER_SECONDS`, `BENCH_RECEIVER_LIGHT_RATE`, `BENCH_RECEIVER_LIGHT_SECONDS`, ' +
      '`BENCH_RECEIVER_CONCURRENCY`, `BENCH_RECEIVER_WARMUP_SECONDS`, `BENCH_RECEIVER_ACCOUNTS`, `BENCH_RECEIVER_ROUNDS`; ' +
      '`BENCH_RECEIVER_PROFILE=<file>` writes a V8 CPU profile (`.cpuprofile`) of the receiver process over the main level.',
  ].join('\n');
  return {
    markdown,
    goalsMet: ratioOk && p99Ok,
    summary:
      `at ${main.rate}/s: ratio ${ratio.toFixed(3)} (goal ≥ ${GOAL_RATIO}), receiver p99 ${ms(main.receiver.p99)} ms ` +
      `(goal ≤ ${GOAL_P99_MS}), bare p99 ${ms(main.bare.p99)} ms; receiver ${main.receiver.tput.toFixed(1)}/s vs bare ${main.bare.tput.toFixed(1)}/s`,
  };
}
