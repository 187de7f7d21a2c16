import { defineConfig } from 'vitest/config';

// One Temporal dev server and one MongoDB-protocol server serve the whole run (see
// test/support/global-setup.ts). Files run two at a time in child processes; each file isolates
// itself with its own database name and task queue (`uniqueName()` in test/support/env.ts).
//
// Two groups, run one after the other: the time-skipping workflow tests first, on a machine with
// nothing else running (the test server skips days of time between steps, and on 2 loaded cores a
// slow worker turn can meet a skip), then everything else.
const shared = {
  setupFiles: ['test/support/quiet-temporal.ts'],
  pool: 'forks' as const,
  // Workers, servers and time-skipping environments take a few seconds to come up on 2 cores.
  testTimeout: 60_000,
  hookTimeout: 120_000,
  teardownTimeout: 30_000,
};

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    maxWorkers: 2, // the machines have 2 cores; override with `vitest --maxWorkers=N`
    projects: [
      {
        test: {
          ...shared,
          name: 'time-skipping',
          include: ['test/workflow/**/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/workflow/**'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
