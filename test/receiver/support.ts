/**
 * Helpers for the receiver tests: a config with two client secrets (rotation), a recording fake
 * of `workflows.notify`, signing, and a receiver app built by the real `buildServer`.
 */
import http from 'node:http';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../../src/api/health.js';
import { buildServer } from '../../src/api/server.js';
import { type Config, loadConfig } from '../../src/config.js';
import { signatureHeader } from '../../src/cronofy/hmac.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { NotificationSignal } from '../../src/workflows/messages.js';

/** Current secret first, the one being retired second (CRONOFY_CLIENT_SECRET="new,old"). */
export const NEW_SECRET = 'CRN_receiver_new_secret_0123456789abcd';
export const OLD_SECRET = 'CRN_receiver_old_secret_9876543210wxyz';
export const WRONG_SECRET = 'CRN_not_ours_5555555555555555555555';

export function receiverConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    CRONOFY_CLIENT_ID: 'receiver-test',
    CRONOFY_CLIENT_SECRET: `${NEW_SECRET},${OLD_SECRET}`,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    HOST: '127.0.0.1',
    PORT: '0',
    PUBLIC_URL: 'https://receiver.example.test',
    NOTIFICATION_MAX_BYTES: '4096',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

export interface NotifyCall {
  accountId: string;
  signal: NotificationSignal;
  timeoutMs: number;
}

/**
 * Records every hand-off; `fail` makes it throw like an unreachable Temporal, `hang` makes it never
 * settle, like a client that ignores its deadline.
 */
export class RecordingWorkflows {
  readonly calls: NotifyCall[] = [];
  fail: Error | undefined;
  hang = false;

  async notify(accountId: string, signal: NotificationSignal, timeoutMs: number): Promise<void> {
    if (this.fail) throw this.fail;
    if (this.hang) return new Promise<void>(() => undefined);
    this.calls.push({ accountId, signal, timeoutMs });
  }
}

export const sign = (body: string | Buffer, secrets: readonly string[] = [NEW_SECRET]): string =>
  signatureHeader(body, secrets);

/** The callback URL Cronofy signs into a push for `accountId` (any host: only the path counts). */
export const callbackUrl = (accountId: string): string =>
  `https://example.test/cronofy/notifications/${encodeURIComponent(accountId)}`;

/** A signed `change` body for `accountId` (default `acc_1`): post it to that account's path. */
export function changeBody(
  overrides: { changesSince?: string; channelId?: string; type?: string; accountId?: string } = {},
): string {
  return JSON.stringify({
    notification: {
      type: overrides.type ?? 'change',
      changes_since: overrides.changesSince ?? '2026-03-01T10:00:00Z',
    },
    channel: {
      channel_id: overrides.channelId ?? 'chn_receiver_test',
      callback_url: callbackUrl(overrides.accountId ?? 'acc_1'),
      filters: {},
    },
  });
}

/** Collects pino's output lines (JSON) in memory. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface ReceiverApp {
  app: FastifyInstance;
  config: Config;
  metrics: Metrics;
  workflows: RecordingWorkflows;
  logs: LogCapture;
}

const alwaysReady: Readiness = { temporal: async () => true, mongo: async () => true };

export async function receiverApp(
  opts: { env?: Record<string, string>; readiness?: Readiness; logLevel?: string } = {},
): Promise<ReceiverApp> {
  const config = receiverConfig(opts.env);
  const metrics = createMetrics();
  const workflows = new RecordingWorkflows();
  const logs = new LogCapture();
  const app = await buildServer({
    config,
    metrics,
    workflows,
    readiness: opts.readiness ?? alwaysReady,
    logger: createLogger(opts.logLevel ?? 'silent', logs),
  });
  await app.ready();
  return { app, config, metrics, workflows, logs };
}

/** The value of one sample in Prometheus text, or 0 when absent. */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value ?? 0;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/**
 * One request over real HTTP with the path sent byte for byte (no URL normalisation), repeated
 * headers sent as separate header lines.
 */
export function rawRequest(
  baseUrl: string,
  req: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: string | Buffer },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method ?? 'POST',
        path: req.path,
        headers: req.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body ?? undefined);
  });
}
