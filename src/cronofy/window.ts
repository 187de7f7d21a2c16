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
export const windowEdgeWindow = (nowMs: number): DateWindow =>
  window(nowMs, WINDOW_EDGE_FROM_DAYS, WINDOW_FUTURE_DAYS);
