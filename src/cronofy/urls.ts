/**
 * Where a Cronofy call goes: the data center's base URL and the Read Events query string.
 */
import { isCronofyDate, toCronofyTime } from '../lib/time.js';
import { DATA_CENTERS, type DataCenter, type ReadEventsParams } from './types.js';

/**
 * `us` → `https://api.cronofy.com`, others `https://api-{dc}.cronofy.com`. A non-empty `override`
 * (the simulator, a proxy) wins; its trailing slashes are dropped.
 */
export function apiBaseUrl(dataCenter: DataCenter, override?: string): string {
  if (override !== undefined && override.trim() !== '') return override.trim().replace(/\/+$/, '');
  if (!DATA_CENTERS.includes(dataCenter)) throw new TypeError(`unknown Cronofy data center: ${dataCenter}`);
  return dataCenter === 'us' ? 'https://api.cronofy.com' : `https://api-${dataCenter}.cronofy.com`;
}

/**
 * The query of the first Read Events request. `tzid` defaults to `Etc/UTC`; `last_modified` is sent
 * without fractional seconds (Cronofy refuses them); booleans as `true`/`false`; `calendar_ids[]`
 * as a repeated key. Throws TypeError on a malformed date or time: that is a bug in the caller.
 */
export function readEventsQuery(params: ReadEventsParams): URLSearchParams {
  const q = new URLSearchParams();
  q.set('tzid', params.tzid ?? 'Etc/UTC');
  for (const [key, value] of [
    ['from', params.from],
    ['to', params.to],
  ] as const) {
    if (value === undefined) continue;
    if (!isCronofyDate(value)) throw new TypeError(`Read Events ${key} must be YYYY-MM-DD`);
    q.set(key, value);
  }
  if (params.lastModified !== undefined) q.set('last_modified', toCronofyTime(params.lastModified));
  const flags: [string, boolean | undefined][] = [
    ['include_deleted', params.includeDeleted],
    ['include_moved', params.includeMoved],
    ['include_managed', params.includeManaged],
    ['only_managed', params.onlyManaged],
    ['localized_times', params.localizedTimes],
    ['include_geo', params.includeGeo],
    ['google_event_ids', params.googleEventIds],
  ];
  for (const [key, value] of flags) if (value !== undefined) q.set(key, value ? 'true' : 'false');
  for (const id of params.calendarIds ?? []) q.append('calendar_ids[]', id);
  return q;
}

/**
 * The longest `callback_url` we hand Cronofy. Its documentation once limited it to 128 characters
 * and does not say the limit was lifted: a longer URL may be refused when the channel is created,
 * after registration has succeeded. Registration refuses such accounts instead.
 */
export const MAX_CALLBACK_URL_LENGTH = 128;
