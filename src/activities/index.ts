/**
 * The account workflow's activities: every Cronofy call and MongoDB write happens here.
 * `createActivities(deps)` binds them to injected dependencies; the workflow imports the type only.
 */
import { Context } from '@temporalio/activity';
import type { CronofyClient } from '../cronofy/client.js';
import { cronofyClientFactory } from '../cronofy/client-factory.js';
import type { DataCenter } from '../cronofy/types.js';
import type { CallPriority, RateLimiter } from '../lib/rate-limiter.js';
import type { Metrics } from '../metrics.js';
import type { AccountsRepo } from '../store/accounts-repo.js';
import type { Collections, SyncState } from '../store/db.js';
import type { EventsRepo } from '../store/events-repo.js';
import { SyncRunsRepo } from '../store/sync-runs-repo.js';
import type { AccountInfoResult, SyncInput, SyncResult } from '../workflows/messages.js';
import { accountAuth } from './account-auth.js';
import { accountNotRegistered, withCronofyFailures } from './failures.js';
import { syncEvents } from './sync-events.js';

export interface ActivityDeps {
  accounts: AccountsRepo;
  events: EventsRepo;
  collections: Collections;
  cronofy: {
    clientId: string;
    clientSecret: string;
    apiUrlOverride?: string;
    requestTimeoutMs: number;
  };
  limiter?: RateLimiter;
  metrics?: Metrics;
  fetch?: typeof fetch;
  now?: () => Date;
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? (() => new Date());
  // Token expiry is judged by the same clock that recorded it (injected in benchmarks and tests).
  const authOptions = { now: () => now().getTime() };
  const clients = new Map<string, CronofyClient>();
  const newClient = cronofyClientFactory(deps.cronofy, { fetch: deps.fetch });
  const syncRuns = new SyncRunsRepo(deps.collections.syncRuns);

  /** One client per data center and priority; the priority decides its share of the rate budget. */
  const clientFor = (dataCenter: DataCenter, priority: CallPriority): CronofyClient => {
    const key = `${dataCenter}:${priority}`;
    let c = clients.get(key);
    if (!c) {
      const limiter = deps.limiter;
      c = newClient(dataCenter, {
        beforeRequest: limiter
          ? async () => {
              const waited = await limiter.acquire(priority);
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

  return {
    async loadAccount({ accountId }: { accountId: string }): Promise<AccountInfoResult> {
      const a = await deps.accounts.get(accountId);
      if (!a || a.deregisteredAt) return { registered: false };
      return {
        registered: true,
        dataCenter: a.dataCenter,
        calendarIds: a.calendarIds,
        channelId: a.channelId || null,
      };
    },

    async syncEvents(input: SyncInput): Promise<SyncResult> {
      const account = await liveAccount(input.accountId);
      // Notification-driven and manual syncs may use the whole budget; periodic ones leave a reserve.
      const priority: CallPriority = input.trigger === 'schedule' ? 'background' : 'urgent';
      const client = clientFor(account.dataCenter, priority);
      return withCronofyFailures(() =>
        syncEvents(
          { events: deps.events, syncRuns, metrics: deps.metrics, now },
          input,
          account,
          client,
          accountAuth(deps.accounts, client, input.accountId, authOptions),
        ),
      );
    },

    /** Finds our channel among the account's open ones, or creates it. Idempotent. */
    async ensureChannel(input: {
      accountId: string;
      callbackUrl: string;
      currentChannelId: string | null;
    }): Promise<{ channelId: string; created: boolean }> {
      const account = await liveAccount(input.accountId);
      const client = clientFor(account.dataCenter, 'urgent');
      const auth = accountAuth(deps.accounts, client, input.accountId, authOptions);
      return withCronofyFailures(async () => {
        const open = await client.listChannels(auth);
        const wanted = account.calendarIds?.length ? account.calendarIds : null;
        const mine = open.filter((c) => c.callback_url === input.callbackUrl);
        // A channel whose calendar filter no longer matches the registration (calendars were added
        // or removed) would never push changes for the new calendars: replace it.
        const matching = mine.filter((c) => sameCalendars(c.filters?.calendar_ids ?? null, wanted));
        for (const stale of mine.filter((c) => !matching.includes(c))) {
          await client.closeChannel(auth, stale.channel_id);
        }
        const ours = matching.find((c) => c.channel_id === input.currentChannelId) ?? matching[0];
        let channelId: string;
        let created = false;
        if (ours) {
          channelId = ours.channel_id;
        } else {
          const filters = wanted ? { calendar_ids: wanted } : undefined;
          const ch = await client.createChannel(auth, { callbackUrl: input.callbackUrl, filters });
          channelId = ch.channel_id;
          created = true;
        }
        await deps.accounts.setChannel(input.accountId, channelId);
        Context.current().log.info('channel ensured', { accountId: input.accountId, channelId, created });
        return { channelId, created };
      });
    },

    async checkChannel(input: { accountId: string; channelId: string }): Promise<{ open: boolean }> {
      const account = await liveAccount(input.accountId);
      const client = clientFor(account.dataCenter, 'background');
      return withCronofyFailures(async () => {
        const open = await client.listChannels(
          accountAuth(deps.accounts, client, input.accountId, authOptions),
        );
        return { open: open.some((c) => c.channel_id === input.channelId) };
      });
    },

    async closeChannel(input: { accountId: string; channelId: string }): Promise<void> {
      const account = await deps.accounts.get(input.accountId);
      if (!account) return;
      const client = clientFor(account.dataCenter, 'urgent');
      await withCronofyFailures(() =>
        client.closeChannel(
          accountAuth(deps.accounts, client, input.accountId, authOptions),
          input.channelId,
        ),
      );
      await deps.accounts.setChannel(input.accountId, null);
    },

    async recordChannel(input: { accountId: string; channelId: string | null }): Promise<void> {
      await deps.accounts.setChannel(input.accountId, input.channelId);
    },

    async recordAccountState(input: { accountId: string; state: SyncState }): Promise<void> {
      await deps.accounts.setState(input.accountId, input.state);
    },

    async finishDeregistration(input: { accountId: string; purge: boolean }): Promise<void> {
      await deps.accounts.markDeregistered(input.accountId);
      if (input.purge) {
        await deps.collections.events.deleteMany({ accountId: input.accountId });
        await deps.collections.accounts.deleteOne({ _id: input.accountId });
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Same set of calendar ids; `null`/empty both mean "all calendars". Pure. */
export function sameCalendars(a: readonly string[] | null, b: readonly string[] | null): boolean {
  const x = new Set(a ?? []);
  const y = new Set(b ?? []);
  return x.size === y.size && [...x].every((v) => y.has(v));
}
