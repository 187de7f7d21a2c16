/**
 * The webhook delivery workflow's id, input and signals: shared by the workflow, the API and the
 * worker's waker (../temporal/webhook-workflows.ts). Plain data only (it is kept in history).
 */
import { defineSignal } from '@temporalio/workflow';

export const WEBHOOK_WORKFLOW_TYPE = 'webhookDelivery';
export const webhookWorkflowIdFor = (webhookId: string, accountId: string): string =>
  `webhook-delivery:${webhookId}:${accountId}`;
/** The webhook workers' task queue: its own, so receivers never take a sync's activity slots. */
export const webhookTaskQueue = (taskQueue: string): string => `${taskQueue}-webhooks`;

export type WebhookWorkflowState = 'delivering' | 'idle' | 'failing' | 'paused';

export interface WebhookRetry {
  /** How long one message is retried before the webhook is paused. */
  windowMs: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
}

export interface WebhookDeliveryInput {
  webhookId: string;
  accountId: string;
  retry: WebhookRetry;
  /** One attempt's HTTP timeout: bounds the activity's start-to-close. */
  requestTimeoutMs: number;
  /** Carried over by continue-as-new. */
  carried?: { failingSince?: number; paused?: boolean };
  /** Tests only. */
  testing?: {
    /** `false` where the server has no custom search attributes. */
    searchAttributes?: boolean;
    /** Continue-as-new after this many deliveries (default `ITERATIONS_PER_RUN`). */
    iterationsPerRun?: number;
  };
}

/** New changes (or account updates) for the account: deliver them. */
export const changedSignal = defineSignal('changed');
/** The webhook was resumed or replayed: deliver again (from the stored cursor). */
export const resumeSignal = defineSignal('resume');
