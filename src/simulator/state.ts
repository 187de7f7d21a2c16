/**
 * The simulator's in-memory world: accounts, their calendars and events, OAuth tokens and codes,
 * notification channels. No HTTP and no pushes here; ./simulator.ts wires this to both.
 * Times shown to clients (`created`, `updated`, token expiry) come from the injected clock.
 *
 * Longer than ~300 lines: the whole simulated world (events with their move history, calendars,
 * profiles, tokens, channels) in one consistent place.
 */
import { randomBytes } from 'node:crypto';
import type { ChannelFilters, CronofyChannel, CronofyEvent, CronofyTime } from '../cronofy/types.js';
import { isCronofyDate, toCronofyTime } from '../lib/time.js';

export class SimulatorInputError extends Error {
  override readonly name = 'SimulatorInputError';
  constructor(
    message: string,
    readonly kind: 'not_found' | 'invalid' = 'invalid',
  ) {
    super(message);
  }
}

export interface SimAccount {
  accountId: string;
  accessToken: string;
  refreshToken: string;
  calendarIds: string[];
}

/** A connected calendar account (Google, Microsoft, ...) inside a Cronofy account, and its calendars. */
export interface SimProfileInput {
  profileId?: string;
  profileName?: string;
  providerName?: string;
  providerService?: string;
  calendarIds: string[];
}

export interface SimProfile {
  profileId: string;
  profileName: string;
  providerName: string;
  providerService: string;
  calendarIds: string[];
  /** False after `disconnectProfile`: Cronofy lost the provider's authorization. */
  connected: boolean;
  initialSyncRequired: boolean;
  /** Calendars the user renamed or deleted (`changeCalendar`), by id. */
  calendarChanges?: Record<string, SimCalendarChange>;
}

/**
 * A calendar renamed or deleted by the user. Deleted: `deleted` lists it with
 * `calendar_deleted: true`, `unlisted` leaves it out of List Calendars and UserInfo (Cronofy
 * documents that deleted calendars may still be listed, not for how long). Its events stay as they
 * were in Read Events: what Cronofy does with them is not documented, and a test that wants them
 * gone deletes them.
 */
export interface SimCalendarChange {
  name?: string;
  deleted?: boolean;
  unlisted?: boolean;
}

export interface CreateAccountOptions {
  accountId?: string;
  /** One profile holding these calendars; ignored when `profiles` is given. */
  calendarIds?: string[];
  profiles?: SimProfileInput[];
}

/** What a test or the control API gives to create or change an event. Extra fields are kept. */
export interface SimEventInput {
  calendar_id: string;
  event_uid?: string;
  event_id?: string;
  summary?: string;
  start: CronofyTime | Date;
  end: CronofyTime | Date;
  [extra: string]: unknown;
}

/** Where an event has been: its start and end as stored (UTC time or date), for `include_moved`. */
export interface EventPosition {
  start: string;
  end: string;
}

export interface StoredEvent {
  event: CronofyEvent;
  /** Every position the event has had, current one last (`include_moved` matches any of them). */
  positions: EventPosition[];
  /** `updated` before its deletion, for an undelete that brings the old stamp back. */
  updatedBeforeDelete?: string;
  /** Time zones of start/end, for `localized_times`. */
  startTzid: string;
  endTzid: string;
  /** Stable order for paging: start instant, then event_uid. */
  sortKey: string;
}

interface AccountState {
  accountId: string;
  calendarIds: string[];
  profiles: SimProfile[];
  events: Map<string, StoredEvent>;
  channels: Map<string, CronofyChannel>;
  revoked: boolean;
  refreshToken?: string;
}

export interface TokenGrant {
  token_type: 'bearer';
  access_token: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
  account_id: string;
  sub: string;
  [extra: string]: unknown;
}

export const SCOPE = 'read_account list_calendars read_events create_event delete_event read_free_busy';

export function randomId(prefix: string, bytes = 12): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

export class SimState {
  readonly #accounts = new Map<string, AccountState>();
  readonly #accessTokens = new Map<string, { accountId: string; expiresAt: number }>();
  readonly #refreshTokens = new Map<string, string>();
  readonly #codes = new Map<string, { accountId: string; redirectUri?: string; expiresAt: number }>();

  constructor(
    private readonly now: () => Date,
    private readonly accessTokenTtlMs: number,
  ) {}

  createAccount(opts: CreateAccountOptions = {}): SimAccount {
    const accountId = opts.accountId ?? randomId('acc_', 9);
    if (this.#accounts.has(accountId)) throw new SimulatorInputError(`account ${accountId} exists`);
    const inputs: SimProfileInput[] = opts.profiles?.length
      ? opts.profiles
      : [{ calendarIds: opts.calendarIds?.length ? opts.calendarIds : [randomId('cal_', 9)] }];
    const profiles = inputs.map((p, i): SimProfile => {
      if (!Array.isArray(p.calendarIds) || p.calendarIds.length === 0)
        throw new SimulatorInputError('every profile needs at least one calendar');
      return {
        // The first profile's id matches the `linking_profile` of the code exchange.
        profileId: p.profileId ?? (i === 0 ? `pro_${accountId}` : randomId('pro_', 9)),
        profileName: p.profileName ?? `${accountId}${i === 0 ? '' : `+${i}`}@example.com`,
        providerName: p.providerName ?? 'google',
        providerService: p.providerService ?? (p.providerName === undefined ? 'gsuite' : p.providerName),
        calendarIds: [...p.calendarIds],
        connected: true,
        initialSyncRequired: false,
      };
    });
    const calendarIds = profiles.flatMap((p) => p.calendarIds);
    if (new Set(calendarIds).size !== calendarIds.length)
      throw new SimulatorInputError('a calendar belongs to one profile only');
    this.#accounts.set(accountId, {
      accountId,
      calendarIds,
      profiles,
      events: new Map(),
      channels: new Map(),
      revoked: false,
    });
    const grant = this.#issue(accountId);
    return { accountId, accessToken: grant.access_token, refreshToken: grant.refresh_token, calendarIds };
  }

  account(accountId: string): AccountState {
    const account = this.#accounts.get(accountId);
    if (!account) throw new SimulatorInputError(`unknown account ${accountId}`, 'not_found');
    return account;
  }

  // ---- tokens -------------------------------------------------------------------------------

  /** The account a bearer token belongs to, or undefined if unknown, expired or revoked. */
  authenticate(accessToken: string): string | undefined {
    const token = this.#accessTokens.get(accessToken);
    if (!token || token.expiresAt <= this.now().getTime()) return undefined;
    return this.#accounts.get(token.accountId)?.revoked === false ? token.accountId : undefined;
  }

  /** Rotates: the refresh token used is invalid afterwards. */
  refreshGrant(refreshToken: string): TokenGrant | undefined {
    const accountId = this.#refreshTokens.get(refreshToken);
    if (accountId === undefined || this.account(accountId).revoked) return undefined;
    return this.#issue(accountId);
  }

  createAuthorizationCode(accountId: string, redirectUri?: string): string {
    this.account(accountId);
    const code = randomId('code_', 12);
    this.#codes.set(code, { accountId, redirectUri, expiresAt: this.now().getTime() + 10 * 60_000 });
    return code;
  }

  /** Single use. A successful exchange re-authorizes a revoked account, like a user reconnecting. */
  codeGrant(code: string, redirectUri: string | undefined): TokenGrant | undefined {
    const entry = this.#codes.get(code);
    if (!entry) return undefined;
    this.#codes.delete(code);
    if (entry.expiresAt <= this.now().getTime()) return undefined;
    if (entry.redirectUri !== undefined && entry.redirectUri !== redirectUri) return undefined;
    this.account(entry.accountId).revoked = false;
    return this.#issue(entry.accountId);
  }

  expireAccessTokens(accountId: string): void {
    this.account(accountId);
    for (const [token, state] of this.#accessTokens)
      if (state.accountId === accountId) this.#accessTokens.delete(token);
  }

  /** The account a refresh or live access token belongs to, if any. */
  accountOfToken(token: string): string | undefined {
    return this.#refreshTokens.get(token) ?? this.authenticate(token);
  }

  revoke(accountId: string): void {
    const account = this.account(accountId);
    account.revoked = true;
    this.expireAccessTokens(accountId);
    if (account.refreshToken !== undefined) this.#refreshTokens.delete(account.refreshToken);
    account.refreshToken = undefined;
  }

  #issue(accountId: string): TokenGrant {
    const account = this.account(accountId);
    if (account.refreshToken !== undefined) this.#refreshTokens.delete(account.refreshToken);
    const accessToken = randomId('', 24);
    const refreshToken = randomId('', 24);
    account.refreshToken = refreshToken;
    this.#refreshTokens.set(refreshToken, accountId);
    this.#accessTokens.set(accessToken, {
      accountId,
      expiresAt: this.now().getTime() + this.accessTokenTtlMs,
    });
    return {
      token_type: 'bearer',
      access_token: accessToken,
      expires_in: Math.floor(this.accessTokenTtlMs / 1000),
      refresh_token: refreshToken,
      scope: SCOPE,
      account_id: accountId,
      sub: accountId,
    };
  }

  // ---- events -------------------------------------------------------------------------------

  /**
   * `updated` stamps the change with that time instead of now: a test's way to make `updated` go
   * backwards (a provider re-import).
   */
  upsertEvent(accountId: string, input: SimEventInput, opts: { updated?: string } = {}): StoredEvent {
    const account = this.account(accountId);
    if (typeof input.calendar_id !== 'string' || !account.calendarIds.includes(input.calendar_id)) {
      throw new SimulatorInputError(
        `calendar ${String(input.calendar_id)} is not one of ${accountId}'s calendars`,
      );
    }
    const start = normaliseTime(input.start, 'start');
    const end = normaliseTime(input.end, 'end');
    if (start.kind !== end.kind)
      throw new SimulatorInputError('start and end must both be dates or both times');
    if (start.value > end.value) throw new SimulatorInputError('end is before start');
    const eventUid = input.event_uid ?? randomId('evt_external_', 12);
    const previous = account.events.get(eventUid);
    if (previous && previous.event.calendar_id !== input.calendar_id) {
      throw new SimulatorInputError(`event ${eventUid} belongs to calendar ${previous.event.calendar_id}`);
    }
    const stamp =
      opts.updated === undefined ? toCronofyTime(this.now()) : checkedTime(opts.updated, 'updated');
    const { start: _s, end: _e, ...rest } = input;
    const event: CronofyEvent = {
      description: '',
      participation_status: 'accepted',
      attendees: [],
      transparency: 'opaque',
      status: 'confirmed',
      categories: [],
      recurring: false,
      event_private: false,
      options: { delete: true, update: true, change_participation_status: true },
      ...rest,
      calendar_id: input.calendar_id,
      event_uid: eventUid,
      summary: input.summary ?? '',
      start: start.value,
      end: end.value,
      deleted: false,
      created: previous?.event.created ?? stamp,
      updated: stamp,
    };
    const position = { start: start.value, end: end.value };
    const positions = (previous?.positions ?? []).filter(
      (p) => p.start !== position.start || p.end !== position.end,
    );
    const stored: StoredEvent = {
      event,
      positions: [...positions, position],
      startTzid: start.tzid,
      endTzid: end.tzid,
      sortKey: `${start.kind === 'date' ? `${start.value}T00:00:00Z` : start.value}\u0000${eventUid}`,
    };
    account.events.set(eventUid, stored);
    return stored;
  }

  /** Keeps a `deleted: true` tombstone (all fields kept) and bumps `updated`. */
  deleteEvent(accountId: string, eventUid: string): StoredEvent {
    const account = this.account(accountId);
    const stored = account.events.get(eventUid);
    if (!stored) throw new SimulatorInputError(`unknown event ${eventUid}`, 'not_found');
    const tombstone: StoredEvent = {
      ...stored,
      // Deleting a tombstone again keeps the stamp from before the first deletion.
      updatedBeforeDelete: stored.event.deleted ? stored.updatedBeforeDelete : stored.event.updated,
      event: { ...stored.event, deleted: true, updated: toCronofyTime(this.now()) },
    };
    account.events.set(eventUid, tombstone);
    return tombstone;
  }

  /**
   * Brings a deleted event back as it was, with `updated` set to `updated` or, by default, to the
   * stamp it had before its deletion: older than the tombstone's, so `updated` goes backwards.
   */
  undeleteEvent(accountId: string, eventUid: string, opts: { updated?: string } = {}): StoredEvent {
    const account = this.account(accountId);
    const stored = account.events.get(eventUid);
    if (!stored) throw new SimulatorInputError(`unknown event ${eventUid}`, 'not_found');
    if (!stored.event.deleted) throw new SimulatorInputError(`event ${eventUid} is not deleted`);
    const updated =
      opts.updated === undefined
        ? (stored.updatedBeforeDelete ?? stored.event.created ?? toCronofyTime(this.now()))
        : checkedTime(opts.updated, 'updated');
    const restored: StoredEvent = { ...stored, event: { ...stored.event, deleted: false, updated } };
    delete restored.updatedBeforeDelete;
    account.events.set(eventUid, restored);
    return restored;
  }

  events(accountId: string): StoredEvent[] {
    return [...this.account(accountId).events.values()];
  }

  // ---- profiles ------------------------------------------------------------------------------

  profiles(accountId: string): SimProfile[] {
    return this.account(accountId).profiles;
  }

  profile(accountId: string, profileId?: string): SimProfile {
    const profiles = this.account(accountId).profiles;
    const profile = profileId === undefined ? profiles[0] : profiles.find((p) => p.profileId === profileId);
    if (!profile) throw new SimulatorInputError(`unknown profile ${String(profileId)}`, 'not_found');
    return profile;
  }

  /** The profile a calendar belongs to. */
  profileOf(accountId: string, calendarId: string): SimProfile | undefined {
    return this.account(accountId).profiles.find((p) => p.calendarIds.includes(calendarId));
  }

  // ---- channels -----------------------------------------------------------------------------

  channels(accountId: string): CronofyChannel[] {
    return [...this.account(accountId).channels.values()];
  }

  findChannel(accountId: string, channelId: string): CronofyChannel | undefined {
    return this.#accounts.get(accountId)?.channels.get(channelId);
  }

  /** The open channel with the same callback URL and filters, if any. */
  findIdentical(accountId: string, callbackUrl: string, filters: ChannelFilters): CronofyChannel | undefined {
    const wanted = JSON.stringify(filters);
    return this.channels(accountId).find(
      (c) => c.callback_url === callbackUrl && JSON.stringify(c.filters) === wanted,
    );
  }

  addChannel(accountId: string, callbackUrl: string, filters: ChannelFilters): CronofyChannel {
    const channel: CronofyChannel = { channel_id: randomId('chn_', 12), callback_url: callbackUrl, filters };
    this.account(accountId).channels.set(channel.channel_id, channel);
    return channel;
  }

  removeChannel(accountId: string, channelId: string): boolean {
    return this.#accounts.get(accountId)?.channels.delete(channelId) ?? false;
  }
}

function checkedTime(value: string, field: string): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value)))
    throw new SimulatorInputError(`${field} must be an ISO 8601 time`);
  return toCronofyTime(value);
}

type NormalisedTime = { kind: 'date' | 'time'; value: string; tzid: string };

/** Dates stay `YYYY-MM-DD`; times become `YYYY-MM-DDTHH:MM:SSZ` (milliseconds dropped, as Cronofy shows them). */
function normaliseTime(value: CronofyTime | Date, field: string): NormalisedTime {
  if (value instanceof Date) return { kind: 'time', value: toCronofyTime(value), tzid: 'Etc/UTC' };
  const raw = typeof value === 'string' ? value : value?.time;
  const tzid =
    typeof value === 'object' && value !== null && typeof value.tzid === 'string' ? value.tzid : 'Etc/UTC';
  if (typeof raw !== 'string') throw new SimulatorInputError(`${field} is required`);
  if (isCronofyDate(raw)) return { kind: 'date', value: raw, tzid };
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(Date.parse(raw))) {
    throw new SimulatorInputError(`${field} must be a date or an ISO 8601 time`);
  }
  return { kind: 'time', value: toCronofyTime(raw), tzid };
}
