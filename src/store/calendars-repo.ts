/**
 * `calendars`: the account's calendars as Cronofy's List Calendars (`GET /v1/calendars`) last
 * showed them. Each refresh is one unordered bulkWrite: an upsert per listed calendar, and one
 * update marking deleted the stored calendars the list no longer holds. Documents are never
 * removed by a refresh (only by a purge): a calendar that disappears stays, `deleted: true`.
 *
 * Refreshes may overlap (a full sync and a profile push run in different activities), so every
 * write is conditional on `refreshedAt`: the list read later wins, an older one changes nothing.
 * One case is left to the next refresh: a calendar created and deleted between two overlapping
 * reads is stored by the older one (the newer one had nothing to mark), live until then.
 */
import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import type { CronofyCalendar } from '../cronofy/types.js';
import { duplicateKeyErrorsOnly } from './bulk-write.js';

export interface CalendarDoc {
  accountId: string;
  calendarId: string;
  name: string | null;
  profileId: string | null;
  profileName: string | null;
  providerName: string | null;
  readOnly: boolean;
  primary: boolean;
  /** Cronofy lists it with `calendar_deleted: true`, or no longer lists it (`listed: false`). */
  deleted: boolean;
  /** When a refresh first found it deleted; absent while it is not. */
  deletedAt?: Date;
  /** False once List Calendars stopped returning it. */
  listed: boolean;
  color: string | null;
  permissionLevel: string | null;
  /** Fields Cronofy sent that we do not map. */
  extra: Record<string, unknown>;
  /** When a refresh first stored it. */
  createdAt: Date;
  /** When the list behind the last write was requested: the ordering key between refreshes. */
  refreshedAt: Date;
}

export interface CalendarsRefreshResult {
  /** Calendars in Cronofy's list. */
  listed: number;
  /**
   * Writes skipped because a refresh that read the list later had already written, as the server
   * reports them (FerretDB v1 ends an unordered batch at its first error: the rest of that older
   * list is skipped too, which is as it should be).
   */
  superseded: number;
}

const MAPPED = new Set([
  'calendar_id',
  'calendar_name',
  'profile_id',
  'profile_name',
  'provider_name',
  'calendar_readonly',
  'calendar_primary',
  'calendar_deleted',
  'calendar_color',
  'permission_level',
]);

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A listed calendar's fields as stored. Pure. */
export function toCalendarFields(
  c: CronofyCalendar,
): Omit<CalendarDoc, 'accountId' | 'createdAt' | 'refreshedAt' | 'deletedAt' | 'listed'> {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    // Keys starting with `$` or containing `.` are not storable as field names in MongoDB.
    if (!MAPPED.has(k) && !k.startsWith('$') && !k.includes('.')) extra[k] = v;
  }
  return {
    calendarId: c.calendar_id,
    name: str(c.calendar_name),
    profileId: str(c.profile_id),
    profileName: str(c.profile_name),
    providerName: str(c.provider_name),
    readOnly: c.calendar_readonly === true,
    primary: c.calendar_primary === true,
    deleted: c.calendar_deleted === true,
    color: str(c.calendar_color),
    permissionLevel: str(c.permission_level),
    extra,
  };
}

export class CalendarsRepo {
  constructor(private readonly calendars: Collection<CalendarDoc>) {}

  /** Stores the list Cronofy answered when asked at `listedAt`. */
  async refresh(
    accountId: string,
    listed: readonly CronofyCalendar[],
    listedAt: Date,
  ): Promise<CalendarsRefreshResult> {
    const seen = listed.filter((c) => typeof c?.calendar_id === 'string');
    const ops: AnyBulkWriteOperation<CalendarDoc>[] = seen.map((c) => {
      const fields = toCalendarFields(c);
      return {
        updateOne: {
          // Not matching a document written by a later refresh makes the upsert try an insert,
          // which the unique index refuses (E11000): that write is skipped, see below.
          filter: { accountId, calendarId: fields.calendarId, refreshedAt: { $lte: listedAt } },
          update: {
            $set: { ...fields, listed: true, refreshedAt: listedAt },
            $setOnInsert: { createdAt: listedAt },
            // `$min` on an absent field sets it: the first refresh that saw it deleted stays.
            ...(fields.deleted ? { $min: { deletedAt: listedAt } } : { $unset: { deletedAt: '' } }),
          },
          upsert: true,
        },
      };
    });
    ops.push({
      updateMany: {
        filter: {
          accountId,
          calendarId: { $nin: seen.map((c) => c.calendar_id) },
          refreshedAt: { $lt: listedAt },
        },
        update: {
          $set: { listed: false, deleted: true, refreshedAt: listedAt },
          $min: { deletedAt: listedAt },
        },
      },
    });
    let superseded = 0;
    try {
      await this.calendars.bulkWrite(ops, { ordered: false });
    } catch (err) {
      const writeErrors = duplicateKeyErrorsOnly(err);
      superseded = writeErrors.length;
    }
    return { listed: seen.length, superseded };
  }

  /** The account's calendars, by calendar id; deleted ones only when asked. */
  async list(accountId: string, opts: { includeDeleted?: boolean } = {}): Promise<CalendarDoc[]> {
    return this.calendars
      .find(
        { accountId, ...(opts.includeDeleted ? {} : { deleted: false }) },
        { projection: { _id: 0 }, sort: { calendarId: 1 } },
      )
      .toArray();
  }

  /** A purge: every calendar of the account. */
  async deleteAccount(accountId: string): Promise<number> {
    return (await this.calendars.deleteMany({ accountId })).deletedCount;
  }
}
