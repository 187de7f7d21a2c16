/**
 * The service's side of the webhook delivery workflows, for the API (create, resume, replay,
 * delete) and the worker (new changes): signal-with-start by deterministic id
 * (`webhook-delivery:<webhookId>:<accountId>`) on the webhook task queue, and termination.
 *
 * `WebhookWaker` is what the change feed's `onAppended` (and the account-updates log) call in the
 * worker: it wakes the workflows of every active webhook following the account, reading the
 * webhook list at most every few seconds.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { WebhookSettings } from '../config.js';
import { follows, type WebhookInfo } from '../store/webhooks-repo.js';
import { CronofyAccountId, CronofyWebhookId, CronofyWebhookState } from '../workflows/search-attributes.js';
import {
  changedSignal,
  resumeSignal,
  WEBHOOK_WORKFLOW_TYPE,
  type WebhookDeliveryInput,
  webhookTaskQueue,
  webhookWorkflowIdFor,
} from '../workflows/webhook-messages.js';

export interface WebhookWorkflowsOptions {
  client: Client;
  /** The service's task queue; the webhook workflows run on `<taskQueue>-webhooks`. */
  taskQueue: string;
  settings: WebhookSettings;
  /** Custom search attributes are registered on the server (false only for bare test servers). */
  searchAttributes?: boolean;
}

export class WebhookWorkflows {
  constructor(private readonly o: WebhookWorkflowsOptions) {}

  private startOptions(webhookId: string, accountId: string) {
    const s = this.o.settings;
    const input: WebhookDeliveryInput = {
      webhookId,
      accountId,
      retry: {
        windowMs: s.retryWindowMs,
        initialIntervalMs: s.retryInitialIntervalMs,
        maxIntervalMs: s.retryMaxIntervalMs,
      },
      requestTimeoutMs: s.requestTimeoutMs,
      ...(this.o.searchAttributes === false ? { testing: { searchAttributes: false } } : {}),
    };
    return {
      workflowId: webhookWorkflowIdFor(webhookId, accountId),
      taskQueue: webhookTaskQueue(this.o.taskQueue),
      args: [input] as [WebhookDeliveryInput],
      staticSummary: `Webhook ${webhookId} for account ${accountId}`,
      ...(this.o.searchAttributes === false
        ? {}
        : {
            typedSearchAttributes: new TypedSearchAttributes([
              { key: CronofyWebhookId, value: webhookId },
              { key: CronofyAccountId, value: accountId },
              { key: CronofyWebhookState, value: 'delivering' },
            ]),
          }),
    };
  }

  /** There is something new to deliver: wakes the workflow, starting it if needed. */
  async changed(webhookId: string, accountId: string): Promise<void> {
    await this.o.client.workflow.signalWithStart(WEBHOOK_WORKFLOW_TYPE, {
      ...this.startOptions(webhookId, accountId),
      signal: changedSignal,
      signalArgs: [],
    });
  }

  /** The webhook was resumed or replayed: a paused workflow delivers again. */
  async resume(webhookId: string, accountId: string): Promise<void> {
    await this.o.client.workflow.signalWithStart(WEBHOOK_WORKFLOW_TYPE, {
      ...this.startOptions(webhookId, accountId),
      signal: resumeSignal,
      signalArgs: [],
    });
  }

  /** Ends the workflow at once (the webhook was deleted); false when none was running. */
  async stop(webhookId: string, accountId: string): Promise<boolean> {
    try {
      await this.o.client.workflow
        .getHandle(webhookWorkflowIdFor(webhookId, accountId))
        .terminate('webhook deleted');
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }
}

/** How long the waker trusts its copy of the webhook list. */
const WEBHOOK_LIST_TTL_MS = 5_000;

/** A failed wake-up is tried again after this long, doubling up to the max while it keeps failing. */
export const WAKE_RETRY_MIN_MS = 1_000;
export const WAKE_RETRY_MAX_MS = 30_000;

export class WebhookWaker {
  private cached: { at: number; list: Promise<WebhookInfo[]> } | undefined;
  /** Accounts whose wake-up failed (Temporal or MongoDB away): tried again until it works. */
  private failed = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = WAKE_RETRY_MIN_MS;
  /** Accounts woken from the cached list: a webhook that list missed is woken for them. */
  private recent = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly deps: {
      webhooks: { list(): Promise<WebhookInfo[]> };
      workflows: Pick<WebhookWorkflows, 'changed'>;
      now?: () => number;
      ttlMs?: number;
      onError?: (err: unknown) => void;
      /** Retry delays (tests shorten them). */
      retryMinMs?: number;
      retryMaxMs?: number;
    },
  ) {
    this.retryMs = deps.retryMinMs ?? WAKE_RETRY_MIN_MS;
  }

  private get ttl(): number {
    return this.deps.ttlMs ?? WEBHOOK_LIST_TTL_MS;
  }

  private async list(accountId: string): Promise<WebhookInfo[]> {
    const now = (this.deps.now ?? Date.now)();
    const cached = this.cached;
    if (cached && now - cached.at <= this.ttl) {
      this.recent.add(accountId);
      // Look again when the copy expires, even if no other change comes: a webhook created
      // meanwhile then starts for these accounts within the TTL.
      if (!this.timer && !this.closed) {
        this.timer = setTimeout(() => void this.refresh(), this.ttl - (now - cached.at) + 1);
        this.timer.unref();
      }
      return cached.list;
    }
    return this.refresh(accountId);
  }

  /** Reads the list; wakes webhooks that were not in the previous one for the accounts it served. */
  private async refresh(accountId?: string): Promise<WebhookInfo[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const previous = this.cached;
    const missed = this.recent;
    this.recent = new Set();
    const list = this.deps.webhooks.list();
    this.cached = { at: (this.deps.now ?? Date.now)(), list };
    let fresh: WebhookInfo[];
    try {
      fresh = await list;
    } catch (err) {
      // A failed read is not kept: the next call reads again.
      if (this.cached?.list === list) this.cached = undefined;
      for (const a of missed) this.recent.add(a);
      if (accountId === undefined) this.deps.onError?.(err);
      if (accountId === undefined) return [];
      throw err;
    }
    if (previous && missed.size > 0 && !this.closed) {
      const known = new Set((await previous.list.catch(() => [])).map((w) => w._id));
      const added = fresh.filter((w) => !known.has(w._id) && w.state === 'active');
      const wakes = added.flatMap((w) =>
        [...missed]
          .filter((a) => a !== accountId && follows(w, a))
          .map((a) => this.deps.workflows.changed(w._id, a)),
      );
      const failed = (await Promise.allSettled(wakes)).find((r) => r.status === 'rejected');
      if (failed) this.deps.onError?.(failed.reason);
    }
    return fresh;
  }

  /**
   * New changes or account updates for `accountId`: wakes the workflow of every active webhook
   * following it. Paused webhooks stay asleep (their workflows wait for `resume`); a webhook
   * created after the list was read starts its own workflows at creation, and is woken for the
   * accounts that changed meanwhile when the list is read again (at most the TTL later).
   */
  async accountChanged(accountId: string): Promise<number> {
    try {
      return await this.wake(accountId);
    } catch (err) {
      // Not lost: the changes are in the feed, and this account's deliveries are woken again
      // shortly (a delivery workflow asleep would otherwise wait for its hourly look).
      this.failed.add(accountId);
      this.scheduleRetry();
      throw err;
    }
  }

  private async wake(accountId: string): Promise<number> {
    const webhooks = (await this.list(accountId)).filter(
      (w) => w.state === 'active' && follows(w, accountId),
    );
    await Promise.all(webhooks.map((w) => this.deps.workflows.changed(w._id, accountId)));
    return webhooks.length;
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => void this.retryFailed(), this.retryMs);
    this.retryTimer.unref();
  }

  private async retryFailed(): Promise<void> {
    this.retryTimer = undefined;
    const accounts = [...this.failed];
    this.failed.clear();
    let failedAgain = false;
    for (const accountId of accounts) {
      if (this.closed) return;
      try {
        await this.wake(accountId);
      } catch (err) {
        failedAgain = true;
        this.failed.add(accountId);
        this.deps.onError?.(err);
      }
    }
    const min = this.deps.retryMinMs ?? WAKE_RETRY_MIN_MS;
    this.retryMs = failedAgain ? Math.min(this.retryMs * 2, this.deps.retryMaxMs ?? WAKE_RETRY_MAX_MS) : min;
    if (this.failed.size > 0) this.scheduleRetry();
  }

  /** Accounts whose wake-up is still to be retried (for tests and diagnostics). */
  get retrying(): number {
    return this.failed.size;
  }

  /** No more wake-ups (the worker is stopping). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
