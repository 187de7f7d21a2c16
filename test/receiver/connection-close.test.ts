/**
 * Regression: closing the API's Temporal connection while the SDK has a gRPC retry scheduled
 * (Temporal unreachable) used to throw "Channel has been shut down" from the retry's timer, an
 * uncaught exception in a graceful shutdown. Real gRPC channel against a refused port; Vitest fails
 * the run on any uncaught error, and the test also checks the exception handler saw none.
 */
import { Client } from '@temporalio/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/servers.js';
import { lazyClosableConnection } from '../../src/temporal/connection.js';

describe('closing the Temporal connection during an outage', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  beforeEach(() => {
    uncaught.length = 0;
    process.on('uncaughtException', onUncaught);
  });
  afterEach(() => {
    process.off('uncaughtException', onUncaught);
  });

  it('waits for the scheduled retry, fails the call, and throws nothing afterwards', async () => {
    const port = await freePort(); // nothing listens: every attempt is refused (UNAVAILABLE)
    const temporal = lazyClosableConnection({ address: `127.0.0.1:${port}` });
    const client = new Client({ connection: temporal.connection });
    const call = client
      .withDeadline(Date.now() + 10_000, () => temporal.connection.workflowService.getSystemInfo({}))
      .then(
        () => 'answered',
        (err: { code?: number }) => err.code,
      );
    // The first attempt is refused at once; the SDK schedules its retry ~100-200 ms later.
    await new Promise((r) => setTimeout(r, 60));
    await temporal.close();
    expect(await call).toBe(14); // UNAVAILABLE: no retry after closing began
    await new Promise((r) => setTimeout(r, 1_500)); // past any retry the SDK could have scheduled
    expect(uncaught).toEqual([]);
  });
});
