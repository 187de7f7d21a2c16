/** The pure parts of full-sync reconciliation: the page-chain check, the mass-deletion bound, UserInfo. */
import { describe, expect, it } from 'vitest';
import {
  ChainCheck,
  disconnectedProfiles,
  MASS_DELETION_MIN,
  massDeletionLimit,
} from '../../src/activities/full-sync-reconcile.js';
import type { CronofyUserInfo, ReadEventsPage } from '../../src/cronofy/types.js';

const page = (current: number, total: number): ReadEventsPage => ({ pages: { current, total }, events: [] });

describe('ChainCheck', () => {
  it('complete: the last page is the last one it announces, and every page was read', () => {
    const c = new ChainCheck();
    for (const p of [page(1, 3), page(2, 3), page(3, 3)]) c.see(p);
    expect(c.complete).toBe(true);
  });

  it('a chain that stops at 2 of 3 is incomplete, and says so', () => {
    const c = new ChainCheck();
    c.see(page(1, 3));
    c.see(page(2, 3));
    expect(c.complete).toBe(false);
    expect(c.describe()).toEqual({ pagesRead: 2, current: 2, total: 3 });
  });

  it('a resumed chain counts the pages read before; a gap in the count is incomplete', () => {
    const resumed = new ChainCheck(2);
    resumed.see(page(3, 3));
    expect(resumed.complete).toBe(true);
    const gap = new ChainCheck();
    gap.see(page(3, 3)); // says 3 of 3, but only one page was read
    expect(gap.complete).toBe(false);
  });

  it('no page at all is not a complete read', () => {
    expect(new ChainCheck().complete).toBe(false);
  });
});

describe('massDeletionLimit', () => {
  it('is max(50, 10 % of the live events), rounded up', () => {
    expect(massDeletionLimit(0)).toBe(MASS_DELETION_MIN);
    expect(massDeletionLimit(500)).toBe(50);
    expect(massDeletionLimit(2_001)).toBe(201);
  });
});

describe('disconnectedProfiles', () => {
  it('lists the profiles UserInfo says are not connected; none without profiles', () => {
    const info = {
      sub: 'acc',
      'cronofy.data': {
        profiles: [
          { profile_id: 'a', profile_connected: true },
          { profile_id: 'b', profile_connected: false },
        ],
      },
    } as unknown as CronofyUserInfo;
    expect(disconnectedProfiles(info)).toEqual(['b']);
    expect(disconnectedProfiles({ sub: 'acc' })).toEqual([]);
  });
});
