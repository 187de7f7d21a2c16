/**
 * Scriptable stand-ins for the account workflow's activities, for time-skipping workflow tests.
 * The workflow's logic (debounce, timers, channel lifecycle, failure handling) is what these tests
 * exercise; the real activities are covered by integration tests against the simulator and MongoDB.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../src/activities/index.js';
import type { WorkerSettings } from '../../src/domain.js';
import type { ProfileState, SyncInput, SyncResult } from '../../src/workflows/messages.js';

export interface Call<T = unknown> {
  name: string;
  input: T;
  /** Test-server (skipped) time at the call. */
  at: number;
  /** What a sync returned (syncEvents only). */
  result?: SyncResult;
  /** The activity attempt (syncEvents only): a retry of the same sync is not another sync. */
  attempt?: number;
}

export type SyncBehaviour = (
  input: SyncInput,
  call: number,
) => Promise<Partial<SyncResult> | undefined> | undefined;

export class FakeActivities {
  calls: Call[] = [];
  registered = true;
  openChannels = new Set<string>();
  private channelSeq = 0;
  sync: SyncBehaviour = () => undefined;
  channelCheck: (() => Promise<void> | undefined) | undefined;
  /** What UserInfo reports of the account's profiles. */
  profiles: ProfileState[] = [
    {
      profileId: 'pro_1',
      profileName: 'me@example.com',
      providerName: 'google',
      connected: true,
      relinkUrl: null,
      initialSyncRequired: false,
    },
  ];
  /** The registration's calendars (`null`: all), as loadAccount and ensureChannel see them. */
  calendarIds: string[] | null = null;
  private readonly channelCalendars = new Map<string, string>();
  /** When set, ensureChannel fails with what it returns (Cronofy refusing the channel, say). */
  channelFailure: (() => Error) | undefined;
  /** MongoDB-only activities fail (retryably, as a driver error would) until this test-server time. */
  mongoDownUntil = 0;
  /**
   * Sync results carry the registration (`registeredCalendarIds`), as workers do since the
   * calendars-from-syncs patch; off by default: the other tests model the workers before it.
   */
  reportsRegistration = false;
  /** What `workerSettings` answers: the worker's configuration as running workflows see it. */
  settings: WorkerSettings | undefined;

  constructor(private readonly env: TestWorkflowEnvironment) {}

  syncs(kind?: SyncInput['kind']): Call<SyncInput>[] {
    return this.calls.filter(
      (c) => c.name === 'syncEvents' && (!kind || (c.input as SyncInput).kind === kind),
    ) as Call<SyncInput>[];
  }

  named(name: string): Call[] {
    return this.calls.filter((c) => c.name === name);
  }

  private async record(name: string, input: unknown): Promise<void> {
    this.calls.push({ name, input, at: await this.env.currentTimeMs() });
  }

  /** Records a MongoDB-only call, failing it while MongoDB is "down". */
  private async store(name: string, input: unknown): Promise<void> {
    await this.record(name, input);
    if ((await this.env.currentTimeMs()) < this.mongoDownUntil) {
      throw ApplicationFailure.create({ type: 'MongoServerSelectionError', message: 'MongoDB unreachable' });
    }
  }

  activities(): Activities {
    return {
      profileStates: async (input) => {
        await this.record('profileStates', input);
        return this.profiles;
      },
      workerSettings: async (input) => {
        await this.record('workerSettings', input);
        if (!this.settings) throw new Error('test: FakeActivities.settings not set');
        return this.settings;
      },
      loadAccount: async (input) => {
        await this.store('loadAccount', input);
        return this.registered
          ? { registered: true, dataCenter: 'us', calendarIds: this.calendarIds, channelId: null }
          : { registered: false };
      },
      syncEvents: async (input) => {
        await this.record('syncEvents', input);
        (this.calls.at(-1) as Call).attempt = Context.current().info.attempt;
        const n = this.syncs().length;
        const over = (await this.sync(input, n)) ?? {};
        const now = new Date(await this.env.currentTimeMs());
        const call = this.calls.filter((c) => c.name === 'syncEvents').at(-1) as Call;
        call.result = {
          kind: input.kind,
          pages: 1,
          upserted: 0,
          deleted: 0,
          unchanged: 0,
          startedAt: now.toISOString(),
          finishedAt: now.toISOString(),
          watermark: new Date(now.getTime() - 60_000).toISOString().replace('.000Z', 'Z'),
          ...(this.reportsRegistration ? { registeredCalendarIds: this.calendarIds } : {}),
          ...over,
        };
        return call.result;
      },
      ensureChannel: async (input) => {
        await this.record('ensureChannel', input);
        if (this.channelFailure) throw this.channelFailure();
        const calendarIds = this.calendarIds;
        // Like the real activity: the open channel is kept while its calendar filter still matches.
        const current = input.currentChannelId;
        if (
          current &&
          this.openChannels.has(current) &&
          this.channelCalendars.get(current) === String(calendarIds)
        ) {
          return { channelId: current, created: false, calendarIds };
        }
        if (current) this.openChannels.delete(current);
        const id = `chn_${++this.channelSeq}`;
        this.openChannels.add(id);
        this.channelCalendars.set(id, String(calendarIds));
        return { channelId: id, created: true, calendarIds };
      },
      checkChannel: async (input) => {
        await this.record('checkChannel', input);
        await this.channelCheck?.();
        return { open: this.openChannels.has(input.channelId) };
      },
      closeChannel: async (input) => {
        await this.record('closeChannel', input);
        this.openChannels.delete(input.channelId);
      },
      recordChannel: async (input) => {
        await this.store('recordChannel', input);
      },
      recordAccountState: async (input) => {
        await this.store('recordAccountState', input);
      },
      tombstoneOtherCalendars: async (input) => {
        await this.store('tombstoneOtherCalendars', input);
        return 0;
      },
      finishDeregistration: async (input) => {
        await this.store('finishDeregistration', input);
      },
    };
  }
}

export const authRevoked = () =>
  ApplicationFailure.create({
    type: 'CronofyAuthRevokedError',
    message: 'refresh token refused (invalid_grant)',
    nonRetryable: true,
  });
export const serverError = () =>
  ApplicationFailure.create({
    type: 'CronofyServerError',
    message: 'Cronofy answered 503',
    nonRetryable: false,
  });
export const clientError = () =>
  ApplicationFailure.create({
    type: 'CronofyClientError',
    message: 'Cronofy answered 422',
    nonRetryable: true,
    details: [{ status: 422 }],
  });
