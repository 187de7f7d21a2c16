/**
 * Time formats, defined once. Cronofy's wire formats (times `YYYY-MM-DDTHH:MM:SSZ` with no
 * fractional seconds, dates `YYYY-MM-DD`) are used by the client to send them, the simulator to
 * check and produce them, and the activities for watermarks; `isIsoTime` is what we accept as an
 * incoming time (receiver schema and the workflow's debounce). Pure: safe in the workflow sandbox.
 */

export const SECOND_MS = 1_000;
export const DAY_MS = 86_400_000;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** ISO 8601 date-time with a zone (`Z` or `±HH:MM`), optional fractional seconds. */
const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A well-formed ISO date-time with a zone that denotes a real instant. */
export function isIsoTime(value: string): boolean {
  return ISO_TIME_RE.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ`. Milliseconds are truncated, never rounded up: used as a lower bound
 * (`last_modified`, watermarks), an earlier time can only widen a query, never lose a change.
 */
export function toCronofyTime(value: Date | string | number): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(ms)) throw new TypeError('not a valid time');
  return new Date(Math.floor(ms / SECOND_MS) * SECOND_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A real calendar date in `YYYY-MM-DD` form (rejects `2024-02-30`). */
export function isCronofyDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === value;
}

/** The UTC date of `at`, `YYYY-MM-DD`. */
export function utcDate(at: Date | number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** UTC midnight at or before `ms`. */
export function utcMidnight(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `date` moved by `days` (may be negative). */
export function addDays(date: string, days: number): string {
  return utcDate(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS);
}
