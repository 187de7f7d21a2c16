/**
 * Push delivery as Cronofy does it: POST the JSON body to the channel's callback URL with
 * `Cronofy-HMAC-SHA256` over the exact bytes sent; anything but a 2xx within the timeout is a
 * failure, retried on a schedule (the last delay repeats). A notification still failing when the
 * retry window has passed since its first failure closes the channel silently, unless some other
 * delivery to that channel succeeded meanwhile.
 * Scheduling uses the real clock (timers), not the simulator's injected one.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { signatureHeader } from '../cronofy/hmac.js';
import type { CronofyChannel } from '../cronofy/types.js';
import { randomId } from './state.js';

export interface SimDelivery {
  notificationId: string;
  accountId: string;
  channelId: string;
  type: string;
  /** 1 for the first try. */
  attempt: number;
  at: Date;
  ms: number;
  /** HTTP status when the receiver answered; undefined when it did not. */
  status?: number;
  /** `timeout`, `ECONNREFUSED`, … when there was no answer. */
  error?: string;
  ok: boolean;
  changesSince?: string;
  /** The exact bytes sent, as UTF-8. */
  body: string;
}

export interface DelivererOptions {
  clientSecrets: readonly string[];
  timeoutMs: number;
  retryDelaysMs: readonly number[];
  retryWindowMs: number;
  now: () => Date;
  isOpen(accountId: string, channelId: string): boolean;
  /** The retry window passed without a success: close the channel. */
  onGiveUp(accountId: string, channelId: string): void;
}

interface Job {
  id: string;
  accountId: string;
  channel: CronofyChannel;
  type: string;
  changesSince?: string;
  body: Buffer;
  attempt: number;
  firstFailureAt?: number;
}

export class Deliverer extends EventEmitter<{ delivery: [SimDelivery] }> {
  readonly log: SimDelivery[] = [];
  readonly #timers = new Map<NodeJS.Timeout, string>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #requests = new Set<http.ClientRequest>();
  readonly #lastSuccess = new Map<string, number>();
  readonly #httpAgent = new http.Agent({ keepAlive: false });
  readonly #httpsAgent = new https.Agent({ keepAlive: false });
  #stopped = false;

  constructor(private readonly opts: DelivererOptions) {
    super();
  }

  /** Queues a notification for one channel; the first attempt starts now. */
  notify(
    accountId: string,
    channel: CronofyChannel,
    notification: { type: string; [k: string]: unknown },
  ): string {
    const body = Buffer.from(
      JSON.stringify({
        notification,
        channel: {
          channel_id: channel.channel_id,
          callback_url: channel.callback_url,
          filters: channel.filters,
        },
      }),
      'utf8',
    );
    const job: Job = {
      id: randomId('ntf_', 9),
      accountId,
      channel,
      type: notification.type,
      changesSince:
        typeof notification['changes_since'] === 'string' ? notification['changes_since'] : undefined,
      body,
      attempt: 0,
    };
    this.#track(this.#attempt(job));
    return job.id;
  }

  /** Drops every pending retry of a channel (it was closed). */
  forgetChannel(channelId: string): void {
    for (const [timer, owner] of this.#timers) {
      if (owner === channelId) {
        clearTimeout(timer);
        this.#timers.delete(timer);
      }
    }
    this.#lastSuccess.delete(channelId);
  }

  /** Resolves when no attempt is in flight (scheduled retries are not waited for). */
  async settled(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** Number of retries and window checks still scheduled. */
  get pendingRetries(): number {
    return this.#timers.size;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.keys()) clearTimeout(timer);
    this.#timers.clear();
    for (const req of this.#requests) req.destroy();
    await this.settled();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  #track(p: Promise<void>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  #schedule(channelId: string, delayMs: number, fn: () => void): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, delayMs);
    timer.unref();
    this.#timers.set(timer, channelId);
  }

  async #attempt(job: Job): Promise<void> {
    const channelId = job.channel.channel_id;
    if (this.#stopped || !this.opts.isOpen(job.accountId, channelId)) return;
    job.attempt += 1;
    const started = Date.now();
    const outcome = await this.#post(job.channel.callback_url, job.body);
    if (this.#stopped) return;
    const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
    const record: SimDelivery = {
      notificationId: job.id,
      accountId: job.accountId,
      channelId,
      type: job.type,
      attempt: job.attempt,
      at: this.opts.now(),
      ms: Date.now() - started,
      ok,
      body: job.body.toString('utf8'),
    };
    if (outcome.status !== undefined) record.status = outcome.status;
    if (outcome.error !== undefined) record.error = outcome.error;
    if (job.changesSince !== undefined) record.changesSince = job.changesSince;
    this.log.push(record);
    this.emit('delivery', record);
    if (ok) {
      this.#lastSuccess.set(channelId, Date.now());
      return;
    }

    job.firstFailureAt ??= started;
    const { retryDelaysMs, retryWindowMs } = this.opts;
    const delay =
      retryDelaysMs.length > 0
        ? retryDelaysMs[Math.min(job.attempt - 1, retryDelaysMs.length - 1)]
        : undefined;
    const elapsed = Date.now() - job.firstFailureAt;
    if (delay !== undefined && elapsed + delay < retryWindowMs) {
      this.#schedule(channelId, delay, () => this.#track(this.#attempt(job)));
      return;
    }
    const firstFailureAt = job.firstFailureAt;
    this.#schedule(channelId, Math.max(0, retryWindowMs - elapsed), () => {
      const lastSuccess = this.#lastSuccess.get(channelId) ?? Number.NEGATIVE_INFINITY;
      if (lastSuccess < firstFailureAt && this.opts.isOpen(job.accountId, channelId)) {
        this.opts.onGiveUp(job.accountId, channelId);
      }
    });
  }

  #post(callbackUrl: string, body: Buffer): Promise<{ status?: number; error?: string }> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(callbackUrl);
      } catch {
        resolve({ error: 'invalid_url' });
        return;
      }
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? this.#httpsAgent : this.#httpAgent,
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': String(body.length),
          'Cronofy-HMAC-SHA256': signatureHeader(body, this.opts.clientSecrets),
          'User-Agent': 'Cronofy-Simulator',
        },
      });
      this.#requests.add(req);
      let done = false;
      const finish = (outcome: { status?: number; error?: string }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#requests.delete(req);
        resolve(outcome);
      };
      // The receiver must answer within the timeout; a late answer is a failure even if 2xx.
      const timer = setTimeout(() => {
        finish({ error: 'timeout' });
        req.destroy();
      }, this.opts.timeoutMs);
      req.on('response', (res) => {
        res.resume();
        finish({ status: res.statusCode ?? 0 });
      });
      req.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
      req.end(body);
    });
  }
}
