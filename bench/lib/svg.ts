/**
 * A tiny SVG writer for the benchmark plots (line charts and histograms), so docs/bench/*.svg can
 * be regenerated without a plotting dependency. Plain SVG 1.1 with inline styles: renders on
 * GitHub, in browsers and in editors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw points instead of a line (scatter). */
  dots?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Horizontal reference lines, e.g. a goal. */
  hLines?: ReadonlyArray<{ y: number; label: string }>;
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  logY?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return String(Number(v.toPrecision(4)));
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 360;
  const m = { l: 64, r: 16, t: 36, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).concat((o.hLines ?? []).map((h) => h.y));
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const fy = (v: number) => (o.logY ? Math.log10(Math.max(v, 1e-9)) : v);
  const yLo = o.yMin ?? (o.logY ? Math.min(...ys.filter((y) => y > 0)) : Math.min(0, ...ys));
  const yHi = o.yMax ?? (ys.length ? Math.max(...ys) * 1.05 : 1);
  const X = (v: number) => m.l + ((v - xMin) / (xMax - xMin || 1)) * pw;
  const Y = (v: number) => m.t + ph - ((fy(v) - fy(yLo)) / (fy(yHi) - fy(yLo) || 1)) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
  );
  const yTicks = o.logY
    ? Array.from(
        { length: Math.floor(Math.log10(yHi)) - Math.ceil(Math.log10(yLo)) + 1 },
        (_, i) => 10 ** (Math.ceil(Math.log10(yLo)) + i),
      )
    : niceTicks(yLo, yHi);
  for (const t of yTicks) {
    const y = Y(t);
    parts.push(
      `<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${tickLabel(t)}</text>`,
    );
  }
  for (const t of niceTicks(xMin, xMax)) {
    const x = X(t);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#333"/>`,
      `<text x="${x}" y="${m.t + ph + 16}" text-anchor="middle">${tickLabel(t)}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  for (const h of o.hLines ?? []) {
    const y = Y(h.y);
    parts.push(
      `<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#555" stroke-dasharray="6 4"/>`,
      `<text x="${m.l + pw - 4}" y="${y - 4}" text-anchor="end" fill="#555">${esc(h.label)}</text>`,
    );
  }
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    if (s.dots) {
      for (const [x, y] of s.points) {
        parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="1.6" fill="${color}"/>`);
      }
    } else if (s.points.length > 0) {
      const d = s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    const ly = m.t + 14 + i * 14;
    parts.push(
      `<rect x="${m.l + 8}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`,
      `<text x="${m.l + 22}" y="${ly + 1}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export interface HistogramOptions {
  title: string;
  xLabel: string;
  values: readonly number[];
  bins?: number;
  /** Vertical reference lines (e.g. p99, goal). */
  vLines?: ReadonlyArray<{ x: number; label: string }>;
  width?: number;
  height?: number;
}

export function histogram(o: HistogramOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 300;
  const m = { l: 56, r: 16, t: 36, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const vals = o.values.filter(Number.isFinite);
  const lo = Math.min(0, ...vals);
  const hi = Math.max(...vals, ...(o.vLines ?? []).map((v) => v.x), lo + 1);
  const nb = o.bins ?? 40;
  const width = (hi - lo) / nb;
  const counts = new Array<number>(nb).fill(0);
  for (const v of vals) counts[Math.min(nb - 1, Math.floor((v - lo) / width))]! += 1;
  const cMax = Math.max(1, ...counts);
  const X = (v: number) => m.l + ((v - lo) / (hi - lo)) * pw;
  const Y = (c: number) => m.t + ph - (c / cMax) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
  ];
  for (const t of niceTicks(0, cMax, 4)) {
    parts.push(
      `<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${tickLabel(t)}</text>`,
    );
  }
  counts.forEach((c, i) => {
    if (c === 0) return;
    const x = X(lo + i * width);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${Y(c).toFixed(1)}" width="${Math.max(1, pw / nb - 1).toFixed(1)}" height="${(m.t + ph - Y(c)).toFixed(1)}" fill="#1f77b4"/>`,
    );
  });
  for (const t of niceTicks(lo, hi)) {
    parts.push(`<text x="${X(t)}" y="${m.t + ph + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const [i, v] of (o.vLines ?? []).entries()) {
    const x = X(v.x);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#d62728" stroke-dasharray="5 3"/>`,
      `<text x="${x + 3}" y="${m.t + 12 + i * 12}" fill="#d62728">${esc(v.label)}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">count</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Writes `docs/bench/<name>` and returns its path relative to docs/ (for links in benchmarks.md). */
export function writePlot(name: string, svg: string): string {
  const file = path.join(repoRoot, 'docs', 'bench', name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, svg);
  return `bench/${name}`;
}
