/**
 * `/healthz`, `/readyz` (each dependency check bounded, so a hanging Temporal or MongoDB makes the
 * probe fail fast instead of hanging it) and `/metrics` in Prometheus text format.
 */
import { describe, expect, it } from 'vitest';
import type { Readiness } from '../../src/api/health.js';
import { JSON_CT } from './cases.js';
import { changeBody, receiverApp, sign } from './support.js';

const never = () => new Promise<boolean>(() => undefined);

async function readyz(readiness: Readiness) {
  const r = await receiverApp({ readiness });
  try {
    const started = performance.now();
    const res = await r.app.inject({ method: 'GET', url: '/readyz' });
    return { status: res.statusCode, body: res.json() as unknown, ms: performance.now() - started };
  } finally {
    await r.app.close();
  }
}

describe('health endpoints', () => {
  it('/healthz answers while dependencies are down', async () => {
    const r = await receiverApp({ readiness: { temporal: never, mongo: never } });
    const res = await r.app.inject({ method: 'GET', url: '/healthz' });
    expect([res.statusCode, res.json()]).toEqual([200, { status: 'ok' }]);
    await r.app.close();
  });

  it('/readyz/receiver needs Temporal only: ready with MongoDB down, not ready with Temporal down', async () => {
    const r = await receiverApp({
      readiness: { temporal: async () => true, mongo: async () => Promise.reject(new Error('down')) },
    });
    try {
      const receiver = await r.app.inject({ method: 'GET', url: '/readyz/receiver' });
      expect([receiver.statusCode, receiver.json()]).toEqual([200, { status: 'ready', temporal: true }]);
      const full = await r.app.inject({ method: 'GET', url: '/readyz' });
      expect([full.statusCode, full.json()]).toEqual([
        503,
        { status: 'not_ready', temporal: true, mongo: false },
      ]);
    } finally {
      await r.app.close();
    }
    const down = await receiverApp({ readiness: { temporal: async () => false, mongo: async () => true } });
    try {
      const res = await down.app.inject({ method: 'GET', url: '/readyz/receiver' });
      expect([res.statusCode, res.json()]).toEqual([503, { status: 'not_ready', temporal: false }]);
    } finally {
      await down.app.close();
    }
  });

  it('/readyz is 200 when Temporal and MongoDB answer', async () => {
    const res = await readyz({ temporal: async () => true, mongo: async () => true });
    expect([res.status, res.body]).toEqual([200, { status: 'ready', temporal: true, mongo: true }]);
  });

  it('/readyz is 503 naming the failing dependency, whether it throws or hangs, within its bound', async () => {
    const thrown = await readyz({
      temporal: async () => true,
      mongo: async () => {
        throw new Error('connection refused');
      },
    });
    expect([thrown.status, thrown.body]).toEqual([
      503,
      { status: 'not_ready', temporal: true, mongo: false },
    ]);

    // Both checks run in parallel, each capped at 1.5 s. Parallel: the second check starts in the
    // same turn of the event loop as the first, not after the first one's cap ran out.
    let firstTurnOver = false;
    const startedLate: boolean[] = [];
    const check = () => {
      startedLate.push(firstTurnOver);
      setImmediate(() => {
        firstTurnOver = true;
      });
      return never();
    };
    const hanging = await readyz({ temporal: check, mongo: check });
    expect([hanging.status, hanging.body]).toEqual([
      503,
      { status: 'not_ready', temporal: false, mongo: false },
    ]);
    expect(hanging.ms).toBeGreaterThan(1400);
    expect(startedLate).toEqual([false, false]);
  });

  it('/metrics is Prometheus text with the receiver series', async () => {
    const r = await receiverApp();
    const body = changeBody({ accountId: 'acc_metrics' });
    await r.app.inject({
      method: 'POST',
      url: '/cronofy/notifications/acc_metrics',
      headers: { 'content-type': JSON_CT, 'cronofy-hmac-sha256': sign(body) },
      payload: body,
    });
    const res = await r.app.inject({ method: 'GET', url: '/metrics' });
    await r.app.close();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE cronofy_notifications_total counter');
    expect(res.body).toContain('cronofy_notifications_total{status="202",type="change"} 1');
    expect(res.body).toContain('cronofy_notification_secret_matched_total{secret_index="0"} 1');
    expect(res.body).toContain('# TYPE cronofy_signal_with_start_seconds histogram');
    // One observation, whatever its latency (the fake signals instantly but a loaded machine can
    // still take milliseconds): the +Inf bucket and the count hold it, never a particular bucket.
    expect(res.body).toContain('cronofy_signal_with_start_seconds_bucket{le="+Inf",outcome="ok"} 1');
    expect(res.body).toContain('cronofy_signal_with_start_seconds_count{outcome="ok"} 1');
    expect(res.body).toContain('# TYPE cronofy_notification_verification_failures_total counter');
  });
});
