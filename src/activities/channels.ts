/**
 * Channel activities: find or create the account's push notification channel, check it is still
 * open (Cronofy closes a channel after 24 h of failed deliveries), and close it.
 *
 * Each runs cancellable: its Cronofy calls (and their waits for budget) stop when the activity is
 * cancelled or timed out, and it heartbeats while it runs, because Temporal tells an activity it
 * was cancelled only in the answer to a heartbeat.
 */
import { Context } from '@temporalio/activity';
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import type { AccountInfo, AccountsRepo } from '../store/accounts-repo.js';
import { withCronofyFailures } from './failures.js';

/** What channel activities need: the live account, and a client with its auth at a priority. */
export interface ChannelDeps {
  accounts: AccountsRepo;
  /** The registration, or a non-retryable `AccountNotRegistered` failure. */
  liveAccount(accountId: string): Promise<AccountInfo>;
  /** `signal`: the activity's cancellation; the client's calls stop when it aborts. */
  cronofyFor(
    account: Pick<AccountInfo, 'accountId' | 'dataCenter'>,
    priority: 'urgent' | 'background',
    signal?: AbortSignal,
  ): {
    client: CronofyClient;
    auth: AccountAuth;
  };
}

/**
 * Heartbeat period of channel activities. Short ones (the usual case) end before the first beat;
 * a slow one (waiting for budget, a Cronofy request near its timeout) hears of its cancellation.
 */
export const CHANNEL_HEARTBEAT_MS = 10_000;

/** Runs `fn` with the activity's cancellation signal, heartbeating meanwhile. */
async function cancellable<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  const timer = setInterval(() => {
    if (!signal.aborted) ctx.heartbeat();
  }, CHANNEL_HEARTBEAT_MS);
  try {
    return await fn(signal);
  } finally {
    clearInterval(timer);
  }
}

export function channelActivities(deps: ChannelDeps) {
  return {
    /** Finds our channel among the account's open ones, or creates it. Idempotent. */
    async ensureChannel(input: {
      accountId: string;
      callbackUrl: string;
      currentChannelId: string | null;
      /** Our earlier callback URLs (PUBLIC_URL changed): their channels are closed. */
      staleCallbackUrls?: string[];
    }): Promise<{ channelId: string; created: boolean; calendarIds: string[] | null }> {
      const account = await deps.liveAccount(input.accountId);
      return cancellable((signal) =>
        withCronofyFailures(async () => {
          const { client, auth } = deps.cronofyFor(account, 'urgent', signal);
          const open = await client.listChannels(auth);
          const wanted = account.calendarIds?.length ? account.calendarIds : null;
          const mine = open.filter((c) => c.callback_url === input.callbackUrl);
          // A channel whose calendar filter no longer matches the registration (calendars were added
          // or removed) would never push changes for the new calendars: replace it.
          const matching = mine.filter((c) => sameCalendars(c.filters?.calendar_ids ?? null, wanted));
          const old = open.filter((c) => input.staleCallbackUrls?.includes(c.callback_url));
          for (const stale of [...mine.filter((c) => !matching.includes(c)), ...old]) {
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
          // A cancelled attempt (its retry may be running) leaves the record to the live one.
          signal.throwIfAborted();
          await deps.accounts.setChannel(input.accountId, channelId);
          Context.current().log.info('channel ensured', { accountId: input.accountId, channelId, created });
          // The calendars it filters on: the workflow backfills calendars added since the last channel.
          return { channelId, created, calendarIds: wanted };
        }),
      );
    },

    async checkChannel(input: { accountId: string; channelId: string }): Promise<{ open: boolean }> {
      const account = await deps.liveAccount(input.accountId);
      return cancellable((signal) =>
        withCronofyFailures(async () => {
          const { client, auth } = deps.cronofyFor(account, 'background', signal);
          const open = await client.listChannels(auth);
          return { open: open.some((c) => c.channel_id === input.channelId) };
        }),
      );
    },

    async closeChannel(input: { accountId: string; channelId: string }): Promise<void> {
      // Also for a deregistered account: its channel must still be closed.
      const account = await deps.accounts.get(input.accountId);
      if (!account) return;
      await cancellable(async (signal) => {
        const { client, auth } = deps.cronofyFor(account, 'urgent', signal);
        await withCronofyFailures(() => client.closeChannel(auth, input.channelId));
        signal.throwIfAborted();
        await deps.accounts.setChannel(input.accountId, null);
      });
    },
  };
}

/** Same set of calendar ids; `null`/empty both mean "all calendars". Pure. */
export function sameCalendars(a: readonly string[] | null, b: readonly string[] | null): boolean {
  const x = new Set(a ?? []);
  const y = new Set(b ?? []);
  return x.size === y.size && [...x].every((v) => y.has(v));
}
