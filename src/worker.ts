/**
 * The Temporal worker: runs `accountSync` workflows and their activities on the task queue.
 * Kept tiny; activities come in already bound to their dependencies.
 *
 * Workflow code: the production build bundles it once (`npm run build` runs dist/bundle-workflows.js,
 * which writes dist/workflow-bundle.js) and the worker loads that file (`workflowBundle.codePath`);
 * from the sources (`npm run dev`, tests) there is no such file and the worker bundles at start.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BundleOptions, bundleWorkflowCode, type NativeConnection, Worker } from '@temporalio/worker';
import type { Activities } from './activities/index.js';
import type { WebhookActivities } from './activities/webhooks.js';

/** A workflow bundle: in memory (tests share one) or a file written at build time. */
export type WorkflowBundle = { code: string } | { codePath: string };

/** Where the build writes the workflow bundle: next to the compiled worker (dist/workflow-bundle.js). */
export function workflowBundlePath(): string {
  return fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));
}

/** The bundle written by `npm run build`, if this is the compiled worker and it exists. */
export function prebuiltWorkflowBundle(): { codePath: string } | undefined {
  const codePath = workflowBundlePath();
  return existsSync(codePath) ? { codePath } : undefined;
}

/** Source (`.ts`, run with tsx) or compiled (`.js`) workflow entry point, whichever exists. */
export function workflowsPath(): string {
  const ts = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('./workflows/index.js', import.meta.url));
}

/** Our sources import `./x.js` for `./x.ts` (NodeNext); teach webpack the same. */
export const webpackConfigHook: BundleOptions['webpackConfigHook'] = (config) => {
  config.resolve = {
    ...config.resolve,
    extensionAlias: { '.js': ['.ts', '.js'] },
  };
  return config;
};

/** Bundles once; tests and benchmarks share the bundle across many workers. */
export async function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    webpackConfigHook,
    logger: quietBundlerLogger,
  });
}

const noop = () => undefined;
const quietBundlerLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: console.error,
  log: noop,
};

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The sync activities, or (on the webhook task queue) the webhook delivery activities. */
  activities: Activities | WebhookActivities;
  /** Undefined: bundle the workflow code from workflowsPath() at start (a few seconds). */
  workflowBundle?: WorkflowBundle;
  /**
   * Server-enforced cap on activity starts per second across every worker of the task queue:
   * the cluster-wide half of the shared Cronofy budget (each activity makes one or more calls).
   */
  maxTaskQueueActivitiesPerSecond?: number;
  /** Undefined: the SDK's default (a share of the heap limit). */
  maxCachedWorkflows?: number;
  /** Undefined: the SDK's default (100). */
  maxConcurrentActivities?: number;
  shutdownGraceTime?: string;
}

export async function createWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    activities: o.activities,
    ...(o.workflowBundle
      ? { workflowBundle: o.workflowBundle }
      : { workflowsPath: workflowsPath(), bundlerOptions: { webpackConfigHook } }),
    maxTaskQueueActivitiesPerSecond: o.maxTaskQueueActivitiesPerSecond,
    maxCachedWorkflows: o.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities,
    // Let running activities finish their page and heartbeat before the process exits.
    shutdownGraceTime: o.shutdownGraceTime ?? '20s',
  });
}
