/**
 * Cronofy's sync window, as dates for Read Events `from`/`to` (`to` exclusive). Pure: callers pass now.
 * Full sync: -42 d to +201 d (the whole window). Window edge: +194 d to +201 d, where events enter
 * the window as it moves forward; Cronofy sends no notification for those.
 */
const DAY = 86_400_000;

export const WINDOW_PAST_DAYS = 42;
export const WINDOW_FUTURE_DAYS = 201;
export const WINDOW_EDGE_FROM_DAYS = 194;

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function utcMidnight(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

export interface DateWindow {
  from: string;
  to: string;
  fromAt: Date;
  toAt: Date;
}

function window(nowMs: number, fromDays: number, toDays: number): DateWindow {
  const today = utcMidnight(nowMs);
  const fromMs = today + fromDays * DAY;
  const toMs = today + toDays * DAY;
  return { from: isoDate(fromMs), to: isoDate(toMs), fromAt: new Date(fromMs), toAt: new Date(toMs) };
}

export const fullSyncWindow = (nowMs: number): DateWindow =>
  window(nowMs, -WINDOW_PAST_DAYS, WINDOW_FUTURE_DAYS);
export const windowEdgeWindow = (nowMs: number): DateWindow =>
  window(nowMs, WINDOW_EDGE_FROM_DAYS, WINDOW_FUTURE_DAYS);
