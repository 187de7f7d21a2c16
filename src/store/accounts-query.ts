/**
 * Listing `accounts` for operators (`GET /accounts`): filtered by state, data center and how long
 * the account has been failing, ordered by account id, a page at a time behind an opaque keyset
 * cursor (the id of the page's last account), like events-query.ts does for events. Keyset, so
 * accounts registered or removed meanwhile never shift later pages. Plain `find` + `sort` + `limit`
 * (the `_id` index, or `state_account` with a state filter), so it runs the same on FerretDB.
 */
import type { Filter } from 'mongodb';
import type { DataCenter } from '../cronofy/types.js';
import type { SyncState } from '../domain.js';
import { decodeCursorBody, encodeCursorBody, fingerprintOf, InvalidCursorError } from './cursor.js';
import type { AccountDoc } from './db.js';

export const DEFAULT_ACCOUNTS_LIMIT = 100;
export const MAX_ACCOUNTS_LIMIT = 500;

/** The states `failing` selects: the workflow could not sync or keep its channel. */
export const FAILING_STATES: readonly SyncState[] = ['degraded', 'disconnected'];

export interface AccountsListParams {
  /** Any of these states (none: every state, closed accounts included). */
  states?: SyncState[];
  dataCenter?: DataCenter;
  /** true: degraded or disconnected; false: active or closed. */
  failing?: boolean;
  /** `failingSince` strictly before / at or after these (accounts not failing never match). */
  failingSinceBefore?: Date;
  failingSinceAfter?: Date;
  limit?: number;
  /** `nextCursor` of the previous page of the same query. */
  cursor?: string;
}

/** An account as operators see it: no tokens, no token bookkeeping. */
export interface AccountSummary {
  accountId: string;
  state: SyncState;
  dataCenter: DataCenter;
  calendarIds: string[] | null;
  channelId: string | null;
  failingSince: Date | null;
  registeredAt: Date;
  updatedAt: Date;
  deregisteredAt: Date | null;
  /** A deregistration was requested and has not finished. */
  deregistering: boolean;
}

export interface AccountsPage {
  accounts: AccountSummary[];
  nextCursor: string | null;
}

/** Identifies the filters a cursor belongs to (not the page size): replayed elsewhere, it is refused. */
export function accountsFingerprint(p: Omit<AccountsListParams, 'limit' | 'cursor'>): string {
  return fingerprintOf([
    [...new Set(p.states ?? [])].sort(),
    p.dataCenter ?? null,
    p.failing ?? null,
    p.failingSinceBefore?.getTime() ?? null,
    p.failingSinceAfter?.getTime() ?? null,
  ]);
}

/** Opaque to clients: base64url of `{ v, a, q }` (the last account id, the fingerprint). */
export function encodeAccountsCursor(lastAccountId: string, fingerprint: string): string {
  return encodeCursorBody({ a: lastAccountId }, fingerprint);
}

export function decodeAccountsCursor(cursor: string, fingerprint: string): string {
  const b = decodeCursorBody(cursor, fingerprint);
  if (typeof b.a !== 'string') throw new InvalidCursorError('cursor is malformed');
  return b.a;
}

/** The `find` filter for one page. Pure. */
export function accountsFilter(p: AccountsListParams, afterId?: string): Filter<AccountDoc> {
  const and: Filter<AccountDoc>[] = [];
  if (p.states?.length) and.push({ state: { $in: p.states } });
  if (p.failing !== undefined) {
    and.push({ state: p.failing ? { $in: [...FAILING_STATES] } : { $nin: [...FAILING_STATES] } });
  }
  if (p.dataCenter !== undefined) and.push({ dataCenter: p.dataCenter });
  if (p.failingSinceBefore !== undefined || p.failingSinceAfter !== undefined) {
    const since: { $lt?: Date; $gte?: Date } = {};
    if (p.failingSinceBefore !== undefined) since.$lt = p.failingSinceBefore;
    if (p.failingSinceAfter !== undefined) since.$gte = p.failingSinceAfter;
    and.push({ failingSince: since });
  }
  if (afterId !== undefined) and.push({ _id: { $gt: afterId } });
  if (and.length === 0) return {};
  return and.length === 1 ? (and[0] as Filter<AccountDoc>) : { $and: and };
}

export function clampAccountsLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_ACCOUNTS_LIMIT;
  return Math.min(MAX_ACCOUNTS_LIMIT, Math.max(1, Math.trunc(limit)));
}

export function toSummary(d: Omit<AccountDoc, 'accessToken' | 'refreshToken'>): AccountSummary {
  return {
    accountId: d.accountId,
    state: d.state,
    dataCenter: d.dataCenter,
    calendarIds: d.calendarIds ?? null,
    channelId: d.channelId || null,
    failingSince: d.failingSince ?? null,
    registeredAt: d.createdAt,
    updatedAt: d.updatedAt,
    deregisteredAt: d.deregisteredAt ?? null,
    deregistering: Boolean(d.deregisterRequestedAt) && !d.deregisteredAt,
  };
}
