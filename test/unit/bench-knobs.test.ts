import { describe, expect, it } from 'vitest';
import { knobsPrefix } from '../../bench/lib/module.js';

describe('knobsPrefix (the recorded benchmark command)', () => {
  it('lists the BENCH_* and CHAOS_* variables set, sorted, as a shell prefix', () => {
    expect(
      knobsPrefix({ PATH: '/bin', CHAOS_LOG_DIR: '/tmp/x', BENCH_SCALE_ACCOUNTS: '2000', BENCHMARK: 'no' }),
    ).toBe('BENCH_SCALE_ACCOUNTS=2000 CHAOS_LOG_DIR=/tmp/x ');
  });

  it('is empty when no knob is set', () => {
    expect(knobsPrefix({ PATH: '/bin', HOME: '/root' })).toBe('');
  });
});
