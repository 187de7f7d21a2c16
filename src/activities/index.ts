/**
 * The account workflow's activities: every Cronofy call and MongoDB write happens in them.
 * `createActivities(deps)` binds them to injected dependencies (one Cronofy client per data center
 * and priority); the workflow imports the type only. The activities themselves live by concern:
 * `sync-events.ts`, `channels.ts`, `bookkeeping.ts`, `settings.ts`, `profiles.ts`, `calendars.ts`.
 */
import { Context } from '@temporalio/activity';
import type { CallPriority, RateLimiter } from '../budget/rate-limiter.js';
import type { CronofyClient } from '../cronofy/client.js';
import { type CronofyAppSettings, cronofyClientFactory } from '../cronofy/client-factory.js';
import type { DataCenter } from '../cronofy/types.js';
import type { Metrics } from '../metrics.js';
import type { AccountInfo, AccountsRepo } from '../store/accounts-repo.js';
import type { CalendarsRepo } from '../store/calendars-repo.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { SyncRunsRepo } from '../store/sync-runs-repo.js';
import type { AccountLog } from '../webhooks/account-log.js';
import type { SyncInput, SyncResult } from '../workflows/messages.js';
import { accountAuth } from './account-auth.js';
import { bookkeepingActivities } from './bookkeeping.js';
import { channelActivities } from './channels.js';
import { accountNotRegistered, withCronofyFailures } from './failures.js';
import { profileActivities } from './profiles.js';
import { type SettingsDeps, settingsActivities } from './settings.js';
import { syncEvents } from './sync-events.js';

export interface ActivityDeps {
  accounts: AccountsRepo;
  events: EventsRepo;
  calendars: CalendarsRepo;
  syncRuns: SyncRunsRepo;
  cronofy: CronofyAppSettings;
  /** What running workflows take from this worker's configuration. */
  settings: SettingsDeps;
  limiter?: RateLimiter;
  metrics?: Metrics;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Account state transitions for `account.updated` webhooks. */
  accountLog?: AccountLog;
  /** The sync activity's heartbeat timer period (tests shorten it); default 10 s. */
  syncKeepAliveMs?: number;
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? (() => new Date());
  // Token expiry is judged by the same clock that recorded it (injected in benchmarks and tests).
  const authOptions = { now: () => now().getTime() };
  const clients = new Map<string, CronofyClient>();
  const newClient = cronofyClientFactory(deps.cronofy, { fetch: deps.fetch });

  /** One client per data center and priority; the priority decides its share of the rate budget. */
  const clientFor = (dataCenter: DataCenter, priority: CallPriority): CronofyClient => {
    const key = `${dataCenter}:${priority}`;
    let c = clients.get(key);
    if (!c) {
      const limiter = deps.limiter;
      c = newClient(dataCenter, {
        beforeRequest: limiter
          ? async (signal?: AbortSignal) => {
              // A cancelled activity stops waiting for budget, and takes none.
              const waited = await limiter.acquire(priority, signal);
              deps.metrics?.rateLimitWait.observe({ priority }, waited / 1000);
            }
          : undefined,
        onResponse: (info) =>
          deps.metrics?.cronofyCalls.inc({
            method: info.method,
            path: info.path,
            status: String(info.status),
          }),
      });
      clients.set(key, c);
    }
    return c;
  };

  const liveAccount = async (accountId: string) => {
    const account = await deps.accounts.get(accountId);
    if (!account || account.deregisteredAt) throw accountNotRegistered(accountId);
    return account;
  };
  /**
   * The account's client, cancelled with `signal` (the calling activity's). Token refreshes use the
   * unbound client on purpose: a refresh abandoned after Cronofy rotated the refresh token would
   * lose the only copy of the new one (see account-auth.ts), so it always runs to the end.
   */
  const cronofyFor = (
    account: Pick<AccountInfo, 'accountId' | 'dataCenter'>,
    priority: CallPriority,
    signal?: AbortSignal,
  ) => {
    const shared = clientFor(account.dataCenter, priority);
    return {
      client: shared.withSignal(signal),
      auth: accountAuth(deps.accounts, shared, account.accountId, authOptions),
    };
  };

  return {
    async syncEvents(input: SyncInput): Promise<SyncResult> {
      const account = await liveAccount(input.accountId);
      // Notification-driven and manual syncs may use the whole budget; periodic ones leave a reserve.
      const { client, auth } = cronofyFor(account, input.trigger === 'schedule' ? 'background' : 'urgent');
      return withCronofyFailures(() =>
        syncEvents(
          {
            events: deps.events,
            registeredCalendars: async (accountId) => (await deps.accounts.get(accountId))?.calendarIds,
            syncRuns: deps.syncRuns,
            calendars: deps.calendars,
            metrics: deps.metrics,
            now,
            signal: Context.current().cancellationSignal,
            keepAliveIntervalMs: deps.syncKeepAliveMs,
          },
          input,
          account,
          client,
          auth,
        ),
      );
    },
    ...channelActivities({ accounts: deps.accounts, liveAccount, cronofyFor }),
    ...bookkeepingActivities({
      accounts: deps.accounts,
      events: deps.events,
      calendars: deps.calendars,
      syncRuns: deps.syncRuns,
      // Background priority: a purge is never urgent. Cronofy errors become Temporal failures.
      revokeToken: (dataCenter, token) =>
        withCronofyFailures(() => clientFor(dataCenter, 'background').revokeToken(token)),
      accountLog: deps.accountLog,
    }),
    ...settingsActivities(deps.settings),
    ...profileActivities({
      liveAccount,
      cronofyFor,
      calendars: deps.calendars,
      now,
      accountLog: deps.accountLog,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
