/**
 * The webhook delivery activities, run by the webhook worker on its own task queue (so a slow
 * receiver holds webhook activity slots only, never a sync's). `deliverNext` sends one message
 * of one webhook and account: the pending one if a previous attempt left one, else the next one
 * built from what follows the cursors (../webhooks/messages.ts), stored before its first attempt.
 * A 2xx moves the cursors past it; anything else throws, and Temporal retries it with backoff
 * (the workflow's retry window). Nothing is skipped: a cursor only moves on an acknowledgement.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RateLimiter } from '../budget/rate-limiter.js';
import type { WebhookSettings } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { AccountUpdatesRepo } from '../store/account-updates-repo.js';
import type { PendingWebhookMessage, WebhookCursorsRepo } from '../store/webhook-cursors-repo.js';
import type { WebhookDeliveriesRepo } from '../store/webhook-deliveries-repo.js';
import { follows, type WebhooksRepo } from '../store/webhooks-repo.js';
import { type FeedPage, type FeedReader, isCursorExpired } from '../webhooks/feed.js';
import { type EventsChangedPayload, nextMessage, serializePayload } from '../webhooks/messages.js';
import { newMessageId } from '../webhooks/secret.js';
import { sendWebhook } from '../webhooks/sender.js';

export interface WebhookActivityDeps {
  webhooks: WebhooksRepo;
  cursors: WebhookCursorsRepo;
  deliveries: WebhookDeliveriesRepo;
  updates: AccountUpdatesRepo;
  /** The account change feed; absent until it is wired (only `account.updated` is delivered then). */
  feed?: FeedReader;
  settings: Pick<WebhookSettings, 'requestTimeoutMs' | 'maxChanges'>;
  /** The webhook's outbound rate limiter (one per webhook in the process). */
  limiterFor?: (webhookId: string) => RateLimiter;
  fetch?: typeof fetch;
  now?: () => Date;
  /** `cronofy_webhook_*`: attempts, their latency, changes acknowledged and their lag. */
  metrics?: Pick<
    Metrics,
    'webhookDeliveries' | 'webhookDeliveryDuration' | 'webhookChangesDelivered' | 'webhookLag'
  >;
}

/**
 * `delivered`: a message was acknowledged (or the cursor moved under us): call again.
 * `idle`: nothing to send. `paused`: the webhook is paused. `gone`: deleted, or no longer
 * following the account: the workflow ends.
 */
export type DeliveryOutcome = 'delivered' | 'idle' | 'paused' | 'gone';

export interface DeliveryTarget {
  webhookId: string;
  accountId: string;
}

export const WEBHOOK_DELIVERY_FAILED = 'WebhookDeliveryFailed';

const EMPTY_PAGE: FeedPage = { changes: [], nextCursor: '', hasMore: false };

/** The cancellation signal of the running activity, when there is one (unit tests call directly). */
function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** The `changedAt` of each change an `events.changed` body carries (none for `account.updated`). */
function changeTimes(pending: PendingWebhookMessage): Date[] {
  if (pending.type !== 'events.changed') return [];
  try {
    const payload = JSON.parse(pending.body) as EventsChangedPayload;
    return payload.changes.map((c) => new Date(c.changedAt));
  } catch {
    return [];
  }
}

export function webhookActivities(deps: WebhookActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const metrics = deps.metrics;

  /** A 2xx for `pending` at `at`: how many changes reached the receiver, and how late. */
  function recordAcknowledged(pending: PendingWebhookMessage, at: Date): void {
    if (!metrics) return;
    const times = changeTimes(pending);
    metrics.webhookChangesDelivered.inc(times.length);
    for (const t of times) {
      const lag = (at.getTime() - t.getTime()) / 1000;
      if (Number.isFinite(lag)) metrics.webhookLag.observe(Math.max(0, lag));
    }
  }

  /** Builds and stores the next message; null when there is none. */
  async function buildNext(
    t: DeliveryTarget,
    cursor: Awaited<ReturnType<WebhookCursorsRepo['getOrCreate']>>,
  ): Promise<PendingWebhookMessage | 'idle' | 'moved' | 'expired'> {
    const updates = await deps.updates.after(t.accountId, cursor.updatesSeq, 1);
    let page = EMPTY_PAGE;
    if (deps.feed) {
      try {
        page = await deps.feed.read(t.accountId, cursor.feedCursor ?? undefined, deps.settings.maxChanges);
      } catch (err) {
        if (isCursorExpired(err)) return 'expired';
        throw err;
      }
    }
    const next = nextMessage({
      accountId: t.accountId,
      changes: page.changes,
      pageCursor: page.nextCursor,
      updates,
      maxChanges: deps.settings.maxChanges,
    });
    if (!next) return 'idle';
    const pending: PendingWebhookMessage = {
      msgId: newMessageId(),
      type: next.payload.type,
      body: serializePayload(next.payload),
      createdAt: now(),
      advance: next.advance,
      generation: cursor.generation,
      attempts: 0,
    };
    return (await deps.cursors.setPending(cursor, pending)) ? pending : 'moved';
  }

  return {
    async deliverNext(t: DeliveryTarget): Promise<{ outcome: DeliveryOutcome; msgId?: string }> {
      const webhook = await deps.webhooks.withSecret(t.webhookId);
      if (!webhook || !follows(webhook, t.accountId)) return { outcome: 'gone' };
      if (webhook.state === 'paused') return { outcome: 'paused' };
      const cursor = await deps.cursors.getOrCreate(t.webhookId, t.accountId);
      let pending = cursor.pending;
      if (!pending) {
        const built = await buildNext(t, cursor);
        if (built === 'idle') return { outcome: 'idle' };
        // A replay moved the cursor while we built: start over from the new position.
        if (built === 'moved') return { outcome: 'delivered' };
        if (built === 'expired') {
          // Behind the feed's retention: the changes it missed are gone from the feed. Never skip
          // silently: pause, and let an operator replay (from the beginning).
          await deps.webhooks.pause(t.webhookId, {
            reason: `cursor for account ${t.accountId} is older than the change feed's retention: replay it from the beginning`,
            failingSince: now(),
          });
          return { outcome: 'paused' };
        }
        pending = built;
      }

      const signal = activitySignal();
      await deps.limiterFor?.(t.webhookId).acquire('urgent', signal);
      await deps.cursors.countAttempt(cursor._id, pending.msgId);
      const at = now();
      const result = await sendWebhook(
        {
          url: webhook.url,
          secret: webhook.secret,
          msgId: pending.msgId,
          body: pending.body,
          timeoutMs: deps.settings.requestTimeoutMs,
          signal,
        },
        { fetch: deps.fetch, now },
      );
      const answeredAt = now();
      metrics?.webhookDeliveries.inc({ outcome: result.outcome, type: pending.type });
      metrics?.webhookDeliveryDuration.observe({ outcome: result.outcome }, result.latencyMs / 1000);
      await deps.deliveries.record({
        webhookId: t.webhookId,
        accountId: t.accountId,
        msgId: pending.msgId,
        type: pending.type,
        attempt: pending.attempts + 1,
        status: result.status,
        error: result.error,
        latencyMs: result.latencyMs,
        at,
      });
      if (!result.ok) {
        throw ApplicationFailure.retryable(`${webhook.url}: ${result.error}`, WEBHOOK_DELIVERY_FAILED);
      }
      // False only when a replay moved the cursor meanwhile: the message counts as delivered
      // all the same (the receiver has it), and the next one starts from the replayed position.
      await deps.cursors.acknowledge(cursor._id, pending);
      recordAcknowledged(pending, answeredAt);
      return { outcome: 'delivered', msgId: pending.msgId };
    },

    /** The retry window ran out: the webhook is paused, with the last attempt's error as the reason. */
    async pauseWebhook(
      input: DeliveryTarget & { failingSince: string; retryWindowMs: number },
    ): Promise<void> {
      const [last] = await deps.deliveries.recent(input.webhookId, 1);
      const hours = Math.round((input.retryWindowMs / 3_600_000) * 100) / 100;
      const reason = `account ${input.accountId}: delivery failed for the whole retry window (${hours} h)${
        last?.error ? `; last attempt: ${last.error}` : ''
      }`;
      await deps.webhooks.pause(input.webhookId, { reason, failingSince: new Date(input.failingSince) });
    },
  };
}

export type WebhookActivities = ReturnType<typeof webhookActivities>;
