/**
 * The account workflow's input and outcome. The input is small and stable on purpose: it is
 * recorded in every run's history and carried through continue-as-new.
 */
import type { SyncState, SyncTimings } from '../domain.js';
import type { AccountData } from './state.js';

export interface AccountSyncInput {
  accountId: string;
  timings: SyncTimings;
  callbackUrl: string;
  /** State carried over by continue-as-new. */
  carried?: AccountData;
  /** For test servers and tests only; production never sets it. */
  testing?: AccountSyncTestOptions;
}

export interface AccountSyncTestOptions {
  /** `false` where the server has no custom search attributes registered. */
  searchAttributes?: boolean;
  /**
   * `false` for servers that do not dispatch prioritised tasks: the time-skipping test server 1.40
   * never hands them out. Otherwise sync activities carry a priority (notification-driven first).
   */
  taskPriorities?: boolean;
  /**
   * Continue-as-new once history reaches this many events, besides Temporal's own suggestion
   * (~4K events / 4 MiB): keeps histories short for replay, or tests the handover.
   */
  historyLimit?: number;
}

/**
 * Histories started before `testing` existed carry these knobs at the top level of the input
 * (production ones `searchAttributes: true`); read from there too so they replay and run on.
 */
export function testOptions(input: AccountSyncInput & AccountSyncTestOptions): AccountSyncTestOptions {
  const { searchAttributes, taskPriorities, historyLimit } = input;
  return { searchAttributes, taskPriorities, historyLimit, ...input.testing };
}

export interface AccountSyncOutcome {
  accountId: string;
  state: SyncState;
  reason: 'deregistered' | 'not_registered';
}
