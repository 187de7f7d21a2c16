/**
 * Durations as the configuration writes them: `500ms`, `2s`, `15m`, `12h`, `7d` (also `w`).
 * Strict on purpose: a typo in a timing knob must stop the process, not silently become 0.
 */
import { DAY_MS } from './time.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: DAY_MS,
  w: 7 * DAY_MS,
};

export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** Human form for logs and the status document: the largest unit that divides exactly. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
