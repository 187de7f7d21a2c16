import { describe, expect, it } from 'vitest';
import { prefetching } from '../../src/lib/prefetching.js';

/** A source that records when each item is asked for and when it is handed over. */
function recordingSource(n: number, log: string[], failAt?: number): AsyncIterable<number> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (let i = 0; i < n; i++) {
          log.push(`read ${i}`);
          await new Promise((r) => setTimeout(r, 1));
          if (i === failAt) throw new Error(`read ${i} failed`);
          yield i;
        }
      } finally {
        log.push('source closed');
      }
    },
  };
}

describe('prefetching (read page N+1 while page N is written)', () => {
  it('yields every item in order, reading exactly one ahead of the consumer', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    for await (const i of prefetching(recordingSource(3, log))) {
      await new Promise((r) => setTimeout(r, 5)); // the "write"
      log.push(`wrote ${i}`);
      seen.push(i);
    }
    expect(seen).toEqual([0, 1, 2]);
    // read 1 starts before wrote 0: the overlap; never two reads ahead.
    expect(log).toEqual(['read 0', 'read 1', 'wrote 0', 'read 2', 'wrote 1', 'source closed', 'wrote 2']);
  });

  it("a failing read surfaces at the consumer's next step, after the page before it was written", async () => {
    const log: string[] = [];
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const i of prefetching(recordingSource(5, log, 1))) {
          await new Promise((r) => setTimeout(r, 5));
          seen.push(i);
        }
      })(),
    ).rejects.toThrow('read 1 failed');
    expect(seen).toEqual([0]);
  });

  it('a failing write stops reading: one read ahead at most, and the source is closed', async () => {
    const log: string[] = [];
    await expect(
      (async () => {
        for await (const i of prefetching(recordingSource(10, log))) {
          if (i === 1) throw new Error('write failed');
        }
      })(),
    ).rejects.toThrow('write failed');
    await new Promise((r) => setTimeout(r, 20));
    expect(log.filter((l) => l.startsWith('read'))).toEqual(['read 0', 'read 1', 'read 2']);
    expect(log).toContain('source closed');
  });
});
