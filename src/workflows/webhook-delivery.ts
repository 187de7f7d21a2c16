/**
 * `webhookDelivery`: one webhook's deliveries for one account, in order, on the webhook task
 * queue. A loop: deliver the next message (an activity: the pending one, else the next built from
 * the cursors), again while there is more; when caught up, wait for `changed` (or a long timer,
 * in case a wake-up was lost). A failing message is retried for the retry window
 * (./webhook-retry.ts); when it runs out the webhook is paused — nothing is dropped, the cursor
 * stays on the failing message — and the workflow waits for `resume`. Continues as new after a
 * bounded number of deliveries.
 *
 * The Web UI shows where each one is: search attributes `CronofyWebhookId`, `CronofyAccountId` and
 * `CronofyWebhookState` (`delivering`, `idle`, `failing`, `paused`).
 */
import {
  ActivityFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks.js';
import { CronofyWebhookState } from './search-attributes.js';
import {
  changedSignal,
  resumeSignal,
  type WebhookDeliveryInput,
  type WebhookWorkflowState,
} from './webhook-messages.js';
import { deliveryOptions, remainingWindow } from './webhook-retry.js';

/** Deliveries per run before continue-as-new: each is ~6 history events. */
export const ITERATIONS_PER_RUN = 500;
/** A caught-up workflow looks again after this long even without a signal (a lost wake-up). */
const IDLE_WAKE = '1h';
/**
 * After this many looks in a row with nothing to deliver (a day), the workflow ends: an account
 * that stopped changing (or was purged) costs nothing. Its cursors are in MongoDB, so the next
 * change's signal-with-start picks up exactly where it stopped.
 */
export const IDLE_LOOKS_BEFORE_END = 24;

export async function webhookDelivery(input: WebhookDeliveryInput): Promise<void> {
  const target = { webhookId: input.webhookId, accountId: input.accountId };
  const searchAttributes = input.testing?.searchAttributes !== false;
  const limit = input.testing?.iterationsPerRun ?? ITERATIONS_PER_RUN;
  let failingSince = input.carried?.failingSince;
  let paused = input.carried?.paused === true;
  let changed = false;
  let resumed = false;
  setHandler(changedSignal, () => {
    changed = true;
  });
  setHandler(resumeSignal, () => {
    resumed = true;
    changed = true;
  });

  let idleLooks = 0;
  let shown: WebhookWorkflowState | undefined;
  const show = (state: WebhookWorkflowState) => {
    if (state === shown) return;
    shown = state;
    if (searchAttributes) upsertSearchAttributes([{ key: CronofyWebhookState, value: state }]);
  };
  const store = proxyActivities<WebhookActivities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: '1h',
    retry: { initialInterval: '1s', maximumInterval: '1m' },
  });

  for (let i = 0; i < limit && !workflowInfo().continueAsNewSuggested; i++) {
    if (paused) {
      show('paused');
      await condition(() => resumed);
      paused = false;
      failingSince = undefined;
    }
    resumed = false;
    changed = false;
    const remaining =
      failingSince === undefined ? undefined : remainingWindow(input.retry, failingSince, Date.now());
    let outcome: Awaited<ReturnType<WebhookActivities['deliverNext']>>['outcome'];
    try {
      const acts = proxyActivities<WebhookActivities>(
        deliveryOptions(input.retry, input.requestTimeoutMs, remaining),
      );
      ({ outcome } = await acts.deliverNext(target));
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      if (failingSince === undefined) {
        // The message's first attempt failed: retry it, for the retry window from now.
        failingSince = Date.now();
        show('failing');
        continue;
      }
      // The retry window ran out: pause the webhook, keep the message, wait for `resume`.
      await store.pauseWebhook({
        ...target,
        failingSince: new Date(failingSince).toISOString(),
        retryWindowMs: input.retry.windowMs,
      });
      paused = true;
      continue;
    }
    failingSince = undefined;
    if (outcome === 'gone') return;
    if (outcome === 'paused') {
      paused = true;
      continue;
    }
    if (outcome === 'delivered') {
      idleLooks = 0;
      show('delivering');
      continue;
    }
    show('idle');
    // `changed` may have come while the activity ran: then this returns at once.
    if (await condition(() => changed, IDLE_WAKE)) idleLooks = 0;
    else if (++idleLooks >= IDLE_LOOKS_BEFORE_END) return;
  }
  await continueAsNew<typeof webhookDelivery>({
    ...input,
    carried: { ...(failingSince === undefined ? {} : { failingSince }), ...(paused ? { paused } : {}) },
  });
}
