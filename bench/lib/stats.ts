/**
 * Small statistics for the benchmark reports: nearest-rank percentiles, a summary row, and number
 * formatting that keeps tables readable. No dependencies.
 */

/** Nearest-rank percentile of an ascending-sorted array (0 < p <= 100); NaN when empty. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface Summary {
  n: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n,
    min: n ? sorted[0]! : Number.NaN,
    mean: n ? sum / n : Number.NaN,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: n ? sorted[n - 1]! : Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  return percentileSorted(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** A number with a sensible number of digits for a table cell. */
export function fmt(v: number, digits?: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '–' : v > 0 ? '∞' : '-∞';
  if (digits !== undefined) return v.toFixed(digits);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

export function fmtBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  return `${(bytes / MiB).toFixed(0)} MiB`;
}

/** Goal marker used in every section. */
export const mark = (ok: boolean): string => (ok ? '**met**' : '**missed**');
