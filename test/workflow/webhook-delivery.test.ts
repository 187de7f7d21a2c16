/**
 * The webhook delivery workflow on the time-skipping test server, with scripted activities: it
 * delivers until caught up and sleeps until `changed`; a failing message shows `failing` and is
 * retried with backoff; when the retry window runs out the webhook is paused until `resume`, with
 * nothing skipped; a deleted webhook ends it; it continues as new with its state.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryOutcome, DeliveryTarget } from '../../src/activities/webhooks.js';
import {
  changedSignal,
  resumeSignal,
  type WebhookDeliveryInput,
} from '../../src/workflows/webhook-messages.js';
import { createTimeSkippingEnv } from '../support/env.js';
import { workflowBundle } from '../support/stack.js';

let env: TestWorkflowEnvironment;
let bundle: { code: string };

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  bundle = await workflowBundle();
});
afterAll(async () => {
  await env?.teardown();
});

type Step = DeliveryOutcome | 'fail';

/** Scripted `deliverNext`: takes the next step, `idle` when the script is done. */
class Script {
  steps: Step[] = [];
  calls: Array<{ attempt: number; step: Step }> = [];
  paused: Array<{ failingSince: string }> = [];
  activities() {
    return {
      deliverNext: async (_t: DeliveryTarget) => {
        const step = this.steps.shift() ?? 'idle';
        this.calls.push({ attempt: Context.current().info.attempt, step });
        if (step === 'fail') throw ApplicationFailure.retryable('HTTP 500', 'WebhookDeliveryFailed');
        return { outcome: step };
      },
      pauseWebhook: async (input: { failingSince: string }) => {
        this.paused.push({ failingSince: input.failingSince });
      },
    };
  }
  count(step: Step) {
    return this.calls.filter((c) => c.step === step).length;
  }
}

// Activity retries are not skipped by the test server (an activity is pending throughout): a
// short window in real time.
const RETRY = { windowMs: 3_000, initialIntervalMs: 200, maxIntervalMs: 400 };

async function withDelivery(
  script: Script,
  body: (h: Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>) => Promise<void>,
  testing: WebhookDeliveryInput['testing'] = {},
  /** Also a replay fixture (test/workflow/histories/<record>.pb) when RECORD_HISTORIES is set. */
  record?: string,
) {
  const taskQueue = `wh-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: script.activities(),
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('webhookDelivery', {
      taskQueue,
      workflowId: `webhook-delivery:wh_test:${randomUUID()}`,
      args: [
        {
          webhookId: 'wh_test',
          accountId: 'acc',
          retry: RETRY,
          requestTimeoutMs: 10_000,
          testing: { searchAttributes: false, ...testing },
        } satisfies WebhookDeliveryInput,
      ],
    });
    try {
      await body(handle);
      if (record && process.env.RECORD_HISTORIES) {
        // RECORD_HISTORIES=1 npx vitest run test/workflow/webhook-delivery.test.ts -t "<name>"
        const history = await handle.fetchHistory();
        writeFileSync(
          join(import.meta.dirname, 'histories', `${record}.pb`),
          temporal.api.history.v1.History.encode(history).finish(),
        );
      }
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
}

/** Lets the server run (and skip time) until `cond` holds. */
async function until(cond: () => boolean, label: string) {
  for (let i = 0; i < 600; i++) {
    if (cond()) return;
    await env.sleep(500);
  }
  throw new Error(`never: ${label}`);
}

describe('webhookDelivery', () => {
  it('delivers until caught up, then waits for `changed`', async () => {
    const s = new Script();
    s.steps = ['delivered', 'delivered', 'idle'];
    await withDelivery(s, async (h) => {
      await until(() => s.calls.length === 3, 'three calls');
      // Idle: an hour of server time passes with no call but the hourly look.
      await env.sleep(30 * 60_000);
      expect(s.calls.length).toBe(3);
      s.steps = ['delivered', 'idle'];
      await h.signal(changedSignal);
      await until(() => s.calls.length === 5, 'woken by changed');
      expect(s.calls.map((c) => c.step)).toEqual(['delivered', 'delivered', 'idle', 'delivered', 'idle']);
    });
  });

  it('ends after a day of idle looks (its cursors are in MongoDB: the next change starts it again)', async () => {
    const s = new Script();
    await withDelivery(s, async (h) => {
      await until(() => s.calls.length >= 1, 'first look');
      await h.result();
      // The first look, then one after each idle hour; the 24th idle hour ends it.
      expect(s.calls.length).toBe(24);
      expect(s.calls.every((c) => c.step === 'idle')).toBe(true);
    });
  });

  it('retries a failing message with backoff and goes on when it succeeds', async () => {
    const s = new Script();
    s.steps = ['fail', 'fail', 'fail', 'fail', 'delivered', 'idle'];
    await withDelivery(
      s,
      async () => {
        await until(() => s.count('idle') === 1, 'recovered');
        expect(s.paused).toEqual([]);
        // The first attempt alone, then Temporal's retries of one activity (its backoff) until success.
        expect(s.calls.map((c) => c.attempt)).toEqual([1, 1, 2, 3, 4, 1]);
      },
      {},
      'webhook-retried',
    );
  });

  it('pauses the webhook when the retry window runs out, and resumes on `resume` with the same message', async () => {
    const s = new Script();
    s.steps = Array.from({ length: 1000 }, () => 'fail' as const);
    await withDelivery(
      s,
      async (h) => {
        await until(() => s.paused.length === 1, 'paused');
        const failedAttempts = s.count('fail');
        // The window is 3 s of retries with backoff capped at 400 ms: several attempts.
        expect(failedAttempts).toBeGreaterThan(4);
        expect(s.paused[0]?.failingSince).toMatch(/^\d{4}-\d\d-\d\dT/);
        // Paused: a day passes with no attempt; `changed` does not wake it either.
        await h.signal(changedSignal);
        await env.sleep(86_400_000);
        expect(s.count('fail')).toBe(failedAttempts);
        s.steps = ['delivered', 'idle'];
        await h.signal(resumeSignal);
        await until(() => s.count('idle') === 1, 'resumed');
        expect(s.count('delivered')).toBe(1);
      },
      {},
      'webhook-paused-resumed',
    );
  });

  it('waits for `resume` when the activity finds the webhook paused, and ends when it is gone', async () => {
    const s = new Script();
    s.steps = ['paused'];
    await withDelivery(s, async (h) => {
      await until(() => s.calls.length === 1, 'paused seen');
      await env.sleep(3_600_000 * 3);
      expect(s.calls.length).toBe(1);
      s.steps = ['gone'];
      await h.signal(resumeSignal);
      await h.result();
      expect(s.calls.map((c) => c.step)).toEqual(['paused', 'gone']);
    });
  });

  it('continues as new after a bounded number of deliveries, and keeps delivering', async () => {
    const s = new Script();
    s.steps = ['delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'idle'];
    await withDelivery(
      s,
      async (h) => {
        await until(() => s.count('idle') === 1, 'all delivered');
        const desc = await env.client.workflow.getHandle(h.workflowId).describe();
        expect(desc.runId).not.toBe(h.firstExecutionRunId);
      },
      { iterationsPerRun: 2 },
    );
  });
});
