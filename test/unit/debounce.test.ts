import { describe, expect, it } from 'vitest';
import {
  addChange,
  debounceDueAt,
  lastModifiedFor,
  mergePending,
  noPendingChanges,
} from '../../src/workflows/debounce.js';

const opts = { quietMs: 2_000, maxMs: 15_000 };
const at = (ms: number, changesSince?: string) => ({
  at: ms,
  changesSince,
  receivedAt: new Date(ms).toISOString(),
});

describe('debounce', () => {
  it('is due a quiet period after the last notification', () => {
    let p = addChange(noPendingChanges(), at(1_000, '2024-10-23T09:00:00Z'));
    expect(debounceDueAt(p, opts)).toBe(3_000);
    p = addChange(p, at(2_500, '2024-10-23T09:00:05Z'));
    expect(debounceDueAt(p, opts)).toBe(4_500);
  });

  it('never waits longer than the cap after the first pending notification', () => {
    let p = noPendingChanges();
    for (let t = 0; t <= 30_000; t += 1_000) p = addChange(p, at(t, '2024-10-23T09:00:00Z'));
    expect(debounceDueAt(p, opts)).toBe(15_000);
  });

  it('reads from the earliest changes_since among the burst', () => {
    let p = addChange(noPendingChanges(), at(0, '2024-10-23T09:00:10Z'));
    p = addChange(p, at(1, '2024-10-23T09:00:02Z'));
    p = addChange(p, at(2, '2024-10-23T09:00:20Z'));
    expect(p.count).toBe(3);
    expect(lastModifiedFor(p, null)).toBe('2024-10-23T09:00:02.000Z');
  });

  it('coalesces replays without narrowing the read', () => {
    const n = at(0, '2024-10-23T09:00:00Z');
    let p = addChange(noPendingChanges(), n);
    p = addChange(p, n);
    expect(p.earliestChangesSince).toBe('2024-10-23T09:00:00.000Z');
    expect(debounceDueAt(p, opts)).toBe(2_000);
  });

  it('falls back to the watermark when changes_since is missing or garbage', () => {
    const p = addChange(noPendingChanges(), at(0, 'yesterday'));
    expect(p.needsWatermark).toBe(true);
    expect(lastModifiedFor(p, '2024-10-01T00:00:00Z')).toBe('2024-10-01T00:00:00Z');
    expect(lastModifiedFor(p, null)).toBeNull();
  });

  it('nothing pending means nothing due', () => {
    expect(debounceDueAt(noPendingChanges(), opts)).toBeNull();
  });

  it('merging taken changes back keeps the earliest bound and first arrival', () => {
    const a = addChange(noPendingChanges(), at(100, '2024-10-23T09:00:00Z'));
    const b = addChange(noPendingChanges(), at(5_000, '2024-10-23T10:00:00Z'));
    const m = mergePending(a, b);
    expect(m.count).toBe(2);
    expect(m.firstAt).toBe(100);
    expect(m.lastAt).toBe(5_000);
    expect(m.earliestChangesSince).toBe('2024-10-23T09:00:00.000Z');
  });
});
