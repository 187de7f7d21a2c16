/**
 * Cronofy's sync window, as dates for Read Events `from`/`to` (`to` exclusive). Pure: callers pass now.
 * Full sync: -42 d to +201 d (the whole window). Window edge: +194 d to +201 d, where events enter
 * the window as it moves forward; Cronofy sends no notification for those.
 */
import { DAY_MS, utcDate, utcMidnight } from '../lib/time.js';

export const WINDOW_PAST_DAYS = 42;
export const WINDOW_FUTURE_DAYS = 201;
export const WINDOW_EDGE_FROM_DAYS = 194;

export interface DateWindow {
  from: string;
  to: string;
  fromAt: Date;
  toAt: Date;
}

function window(nowMs: number, fromDays: number, toDays: number): DateWindow {
  const today = utcMidnight(nowMs);
  const fromMs = today + fromDays * DAY_MS;
  const toMs = today + toDays * DAY_MS;
  return { from: utcDate(fromMs), to: utcDate(toMs), fromAt: new Date(fromMs), toAt: new Date(toMs) };
}

export const fullSyncWindow = (nowMs: number): DateWindow =>
  window(nowMs, -WINDOW_PAST_DAYS, WINDOW_FUTURE_DAYS);
/**
 * The window-edge band, +194 d to +201 d. With `readTo` (the exclusive end date of the last full or
 * window-edge read) the band starts there when that is earlier, never before the window's start:
 * a run late past midnight, or an interval over 7 d, would otherwise skip the days in between.
 */
export function windowEdgeWindow(nowMs: number, readTo?: string | null): DateWindow {
  const band = window(nowMs, WINDOW_EDGE_FROM_DAYS, WINDOW_FUTURE_DAYS);
  if (!readTo || readTo >= band.from) return band;
  const start = fullSyncWindow(nowMs);
  const from = readTo < start.from ? start.from : readTo;
  return { ...band, from, fromAt: new Date(`${from}T00:00:00Z`) };
}
