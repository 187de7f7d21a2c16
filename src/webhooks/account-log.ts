/**
 * Records account state changes in the append-only `account_updates` log, for `account.updated`
 * webhook messages, and wakes the delivery workflows. Called from the account workflow's
 * ACTIVITIES (recording the state, reading the profiles), never from workflow code: the account
 * workflow's commands stay what they were (its replay tests hold them).
 *
 * Only transitions are logged: the workflow records its state again after failed bookkeeping, and
 * profiles are read on every profile push; an entry is appended when the state differs from the
 * last entry's, or a profile's connection changed since the last reading that was logged.
 */

import type { SyncState } from '../domain.js';
import type { AccountUpdatesRepo } from '../store/account-updates-repo.js';
import { FAILING_STATES } from '../store/accounts-query.js';
import { type ProfileUpdate, profilesChanged } from './messages.js';

export interface AccountLogDeps {
  updates: Pick<AccountUpdatesRepo, 'last' | 'lastProfiles' | 'append'>;
  /** Why a failing account fails: its latest failed sync's error. */
  lastFailure(accountId: string): Promise<string | null>;
  /** Wakes the account's webhook deliveries (best effort: they also look again hourly). */
  wake?(accountId: string): Promise<unknown>;
  onWakeError?(err: unknown): void;
  now?: () => Date;
}

export class AccountLog {
  constructor(private readonly deps: AccountLogDeps) {}

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  private async wake(accountId: string): Promise<void> {
    try {
      await this.deps.wake?.(accountId);
    } catch (err) {
      this.deps.onWakeError?.(err);
    }
  }

  /** The workflow recorded `state`; logged when it changed (a new account starting active is not). */
  async stateRecorded(accountId: string, state: SyncState): Promise<boolean> {
    const last = await this.deps.updates.last(accountId);
    if ((last?.state ?? 'active') === state) return false;
    const reason = FAILING_STATES.includes(state) ? await this.deps.lastFailure(accountId) : null;
    await this.deps.updates.append({ accountId, state, reason, at: this.now() });
    await this.wake(accountId);
    return true;
  }

  /** Cronofy's profiles were read; logged (with all of them) when a connection changed. */
  async profilesRead(
    accountId: string,
    state: SyncState,
    profiles: readonly ProfileUpdate[],
  ): Promise<boolean> {
    const last = await this.deps.updates.lastProfiles(accountId);
    if (!profilesChanged(last?.profiles ?? null, profiles)) return false;
    await this.deps.updates.append({
      accountId,
      state,
      profiles: profiles.map((p) => ({
        profileId: p.profileId,
        profileName: p.profileName ?? null,
        connected: p.connected,
        relinkUrl: p.relinkUrl ?? null,
      })),
      at: this.now(),
    });
    await this.wake(accountId);
    return true;
  }
}
