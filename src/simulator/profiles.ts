/**
 * Profiles and calendars as Cronofy shows them: `GET /v1/profiles`, `GET /v1/calendars` and
 * `GET /v1/userinfo` (the profiles with their calendars under the literal key `cronofy.data`).
 * Pure renderings of ./state.ts profiles; field names from Cronofy's documentation and SDKs.
 */
import type { SimCalendarChange, SimProfile } from './state.js';

/**
 * Where the user re-authorizes a disconnected profile. Cronofy's are on its own site; the
 * simulator's are only shown, never served.
 */
export function relinkUrl(base: string, profile: SimProfile): string {
  return `${base}/relink/${encodeURIComponent(profile.profileId)}`;
}

export function renderProfile(profile: SimProfile, base: string): Record<string, unknown> {
  return {
    provider_name: profile.providerName,
    provider_service: profile.providerService,
    profile_id: profile.profileId,
    profile_name: profile.profileName,
    profile_connected: profile.connected,
    profile_initial_sync_required: profile.initialSyncRequired,
    // Present only while the profile needs re-authorizing.
    ...(profile.connected ? {} : { profile_relink_url: relinkUrl(base, profile) }),
  };
}

/** A calendar inside `profile_calendars` (no profile fields: the profile is the parent). */
function renderProfileCalendar(
  calendarId: string,
  index: number,
  change: SimCalendarChange = {},
): Record<string, unknown> {
  return {
    calendar_id: calendarId,
    calendar_name: change.name ?? (index === 0 ? 'Calendar' : `Calendar ${index + 1}`),
    calendar_readonly: false,
    calendar_deleted: change.deleted === true,
    calendar_primary: index === 0,
    calendar_integrated_conferencing_available: false,
    calendar_attachments_available: false,
    permission_level: 'unrestricted',
  };
}

/** A profile's calendars as listed: unlisted ones left out, the others with their changes. */
function listedCalendars(profile: SimProfile): Record<string, unknown>[] {
  const changes = profile.calendarChanges ?? {};
  return profile.calendarIds.flatMap((id, i) =>
    changes[id]?.unlisted ? [] : [renderProfileCalendar(id, i, changes[id])],
  );
}

/** `GET /v1/calendars`: every calendar of every profile, with its profile's identity. */
export function renderCalendars(profiles: readonly SimProfile[]): Record<string, unknown>[] {
  return profiles.flatMap((profile) =>
    listedCalendars(profile).map((calendar) => ({
      provider_name: profile.providerName,
      profile_id: profile.profileId,
      profile_name: profile.profileName,
      ...calendar,
    })),
  );
}

/** `GET /v1/userinfo` for an account: `sub` is stable across re-authorizations (the account id). */
export function renderUserInfo(
  accountId: string,
  scope: string,
  profiles: readonly SimProfile[],
  base: string,
): Record<string, unknown> {
  return {
    sub: accountId,
    'cronofy.type': 'account',
    'cronofy.data': {
      authorization: { scope, status: 'active' },
      profiles: profiles.map((p) => ({
        ...renderProfile(p, base),
        profile_calendars: listedCalendars(p),
      })),
    },
  };
}
