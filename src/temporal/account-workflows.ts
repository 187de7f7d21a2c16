/**
 * The API's side of Temporal: every way the receiver and the admin API talk to an account's
 * workflow, in one typed gateway. Deterministic workflow ids; signal-with-start, never
 * start-then-signal.
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../config.js';
import { callbackUrlFor } from '../domain.js';
import type { AccountSyncInput } from '../workflows/input.js';
import {
  type AccountStatus,
  deregisterSignal,
  type NotificationSignal,
  notificationSignal,
  requestSyncSignal,
  type SyncMode,
  type SyncResult,
  statusQuery,
  syncNowUpdate,
  tokensUpdatedSignal,
  WORKFLOW_TYPE,
  workflowIdFor,
} from '../workflows/messages.js';
import { CronofyAccountId, CronofySyncState } from '../workflows/search-attributes.js';

export class AccountNotFoundError extends Error {
  override name = 'AccountNotFoundError';
}

export interface AccountWorkflowsOptions {
  client: Client;
  taskQueue: string;
  timings: Config['timings'];
  publicUrl: string;
  /** Custom search attributes are registered on the server (false only for bare test servers). */
  searchAttributes?: boolean;
}

export class AccountWorkflows {
  constructor(private readonly o: AccountWorkflowsOptions) {}

  callbackUrlFor(accountId: string): string {
    return callbackUrlFor(this.o.publicUrl, accountId);
  }

  private startOptions(accountId: string) {
    const input: AccountSyncInput = {
      accountId,
      timings: this.o.timings,
      callbackUrl: this.callbackUrlFor(accountId),
      ...(this.o.searchAttributes === false ? { testing: { searchAttributes: false } } : {}),
    };
    return {
      workflowId: workflowIdFor(accountId),
      taskQueue: this.o.taskQueue,
      args: [input] as [AccountSyncInput],
      staticSummary: `Cronofy account ${accountId}`,
      ...(this.o.searchAttributes === false
        ? {}
        : {
            typedSearchAttributes: new TypedSearchAttributes([
              { key: CronofyAccountId, value: accountId },
              { key: CronofySyncState, value: 'active' },
            ]),
          }),
    };
  }

  /** Hands a notification to the account's workflow, starting it if needed. Bounded by `timeoutMs`. */
  async notify(accountId: string, n: NotificationSignal, timeoutMs: number): Promise<void> {
    await this.o.client.withDeadline(Date.now() + timeoutMs, () =>
      this.o.client.workflow.signalWithStart(WORKFLOW_TYPE, {
        ...this.startOptions(accountId),
        signal: notificationSignal,
        signalArgs: [n],
      }),
    );
  }

  /** Starts the workflow for a newly registered account; already running is fine (idempotent). */
  async start(accountId: string): Promise<{ started: boolean }> {
    try {
      await this.o.client.workflow.start(WORKFLOW_TYPE, this.startOptions(accountId));
      return { started: true };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { started: false };
      throw err;
    }
  }

  private handle(accountId: string) {
    return this.o.client.workflow.getHandle(workflowIdFor(accountId));
  }

  private async guard<T>(fn: () => Promise<T>, accountId: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new AccountNotFoundError(`no workflow for account ${accountId}`);
      throw err;
    }
  }

  status(accountId: string): Promise<AccountStatus> {
    return this.guard(() => this.handle(accountId).query(statusQuery), accountId);
  }

  /** Whether the account has (or had, within retention) a workflow execution. */
  async exists(accountId: string): Promise<boolean> {
    try {
      await this.handle(accountId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async isRunning(accountId: string): Promise<boolean> {
    try {
      const d = await this.handle(accountId).describe();
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  requestSync(accountId: string, mode: SyncMode): Promise<void> {
    return this.guard(() => this.handle(accountId).signal(requestSyncSignal, { mode }), accountId);
  }

  syncNow(accountId: string, mode: SyncMode): Promise<SyncResult> {
    return this.guard(
      () => this.handle(accountId).executeUpdate(syncNowUpdate, { args: [{ mode }] }),
      accountId,
    );
  }

  /** New tokens were stored: wake the workflow (starting it again if it had ended). */
  async tokensUpdated(accountId: string): Promise<void> {
    await this.o.client.workflow.signalWithStart(WORKFLOW_TYPE, {
      ...this.startOptions(accountId),
      signal: tokensUpdatedSignal,
      signalArgs: [],
    });
  }

  /**
   * Signal-with-start, so an account whose workflow is gone still gets its channel closed: a new
   * run sees the signal before any other work (deregistration comes first in its plan).
   */
  async deregister(accountId: string, purge: boolean): Promise<void> {
    await this.o.client.workflow.signalWithStart(WORKFLOW_TYPE, {
      ...this.startOptions(accountId),
      signal: deregisterSignal,
      signalArgs: [{ purge }],
    });
  }

  /** Waits for the workflow to finish (after deregister). */
  async result(accountId: string): Promise<unknown> {
    return this.guard(() => this.handle(accountId).result(), accountId);
  }
}
