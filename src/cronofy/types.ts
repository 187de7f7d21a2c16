/**
 * Cronofy's wire types, as far as we know them (Cronofy's API reference and captured traffic). These are the boundary:
 * everything inward (store mapping, activities, workflow) is typed from here.
 * Cronofy adds fields without notice, so every object type keeps an index signature and callers
 * must never fail on fields they do not know.
 */

export type DataCenter = 'us' | 'uk' | 'de' | 'au' | 'ca' | 'sg';
export const DATA_CENTERS: readonly DataCenter[] = ['us', 'uk', 'de', 'au', 'ca', 'sg'];

/** `YYYY-MM-DD` for all-day events, `YYYY-MM-DDTHH:MM:SSZ` otherwise, or `{time,tzid}` with localized_times. */
export type CronofyTime = string | { time: string; tzid: string };

export interface CronofyAttendee {
  email: string;
  display_name?: string;
  status?: string;
  [extra: string]: unknown;
}

export interface CronofyEvent {
  calendar_id: string;
  event_uid: string;
  event_id?: string;
  summary?: string;
  description?: string;
  start: CronofyTime;
  end: CronofyTime;
  deleted: boolean;
  created?: string;
  updated?: string;
  location?: { description?: string; lat?: string; long?: string; [extra: string]: unknown };
  participation_status?: string;
  attendees?: CronofyAttendee[];
  organizer?: { email?: string; display_name?: string; [extra: string]: unknown };
  transparency?: string;
  status?: string;
  categories?: string[];
  recurring?: boolean;
  series_identifier?: string;
  event_private?: boolean;
  [extra: string]: unknown;
}

export interface ReadEventsPage {
  pages: { current: number; total: number; next_page?: string };
  events: CronofyEvent[];
  [extra: string]: unknown;
}

export interface ReadEventsParams {
  /** Always `Etc/UTC` unless a caller knows better. */
  tzid?: string;
  /** `YYYY-MM-DD` */
  from?: string;
  /** `YYYY-MM-DD`, exclusive */
  to?: string;
  /** A Date or ISO time; sent without fractional seconds. */
  lastModified?: Date | string;
  includeDeleted?: boolean;
  includeMoved?: boolean;
  includeManaged?: boolean;
  onlyManaged?: boolean;
  calendarIds?: string[];
  localizedTimes?: boolean;
  /** Adds `location.lat`/`long`; Cronofy answers 402 when the application's plan lacks it. */
  includeGeo?: boolean;
  /** Adds Google's own event ids (`google_event_id`) to events from Google calendars. */
  googleEventIds?: boolean;
}

export interface ChannelFilters {
  calendar_ids?: string[];
  only_managed?: boolean;
  [extra: string]: unknown;
}

export interface CronofyChannel {
  channel_id: string;
  callback_url: string;
  filters: ChannelFilters;
  [extra: string]: unknown;
}

/** A connected calendar account (Google, Microsoft, Apple...) of a Cronofy account. */
export interface CronofyProfile {
  provider_name: string;
  provider_service?: string;
  profile_id: string;
  profile_name: string;
  /** False when Cronofy lost the provider's authorization: the user must relink. */
  profile_connected: boolean;
  profile_initial_sync_required: boolean;
  /** Where the user re-authorizes the profile; present when it is disconnected. */
  profile_relink_url?: string;
  [extra: string]: unknown;
}

/** A calendar as listed inside a profile (UserInfo's `profile_calendars`). */
export interface CronofyProfileCalendar {
  calendar_id: string;
  calendar_name: string;
  calendar_readonly: boolean;
  /** Deleted calendars may still be listed. */
  calendar_deleted: boolean;
  calendar_primary: boolean;
  permission_level?: string;
  [extra: string]: unknown;
}

/** `GET /v1/calendars`: a calendar with its profile's identity. */
export interface CronofyCalendar extends CronofyProfileCalendar {
  provider_name: string;
  profile_id: string;
  profile_name: string;
  calendar_color?: string;
}

/** `GET /v1/userinfo`. The profiles sit under the literal key `cronofy.data`. */
export interface CronofyUserInfo {
  /** The Cronofy identity, stable across re-authorizations. */
  sub: string;
  'cronofy.type'?: string;
  'cronofy.data'?: {
    authorization?: { scope?: string; status?: string; [extra: string]: unknown };
    profiles?: (CronofyProfile & { profile_calendars?: CronofyProfileCalendar[] })[];
    [extra: string]: unknown;
  };
  [extra: string]: unknown;
}

export const KNOWN_NOTIFICATION_TYPES = [
  'verification',
  'change',
  'profile_disconnected',
  'profile_initial_sync_completed',
  'conferencing_profile_disconnected',
  'gdpr_requested',
] as const;
export type KnownNotificationType = (typeof KNOWN_NOTIFICATION_TYPES)[number];

/** The body Cronofy POSTs to a channel's callback URL. */
export interface CronofyNotificationBody {
  notification: { type: string; changes_since?: string; [extra: string]: unknown };
  channel: { channel_id: string; callback_url?: string; filters?: ChannelFilters; [extra: string]: unknown };
  [extra: string]: unknown;
}

export interface TokenResponse {
  token_type: string;
  access_token: string;
  expires_in: number;
  refresh_token: string;
  scope?: string;
  [extra: string]: unknown;
}
