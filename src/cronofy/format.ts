/**
 * Cronofy's date and time wire formats, shared by the client (to send them) and the simulator (to
 * check and produce them): times `YYYY-MM-DDTHH:MM:SSZ` with no fractional seconds, dates `YYYY-MM-DD`.
 */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/**
 * `YYYY-MM-DDTHH:MM:SSZ`. Milliseconds are truncated, never rounded up: used as a lower bound
 * (`last_modified`), an earlier time can only widen a query, never lose a change.
 */
export function toCronofyTime(value: Date | string): string {
  const ms = (typeof value === 'string' ? new Date(value) : value).getTime();
  if (Number.isNaN(ms)) throw new TypeError('not a valid time');
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A real calendar date in `YYYY-MM-DD` form (rejects `2024-02-30`). */
export function isCronofyDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === value;
}

/** The UTC date of `at`, `YYYY-MM-DD`. */
export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** `date` moved by `days` (may be negative). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}
