/**
 * How the account routes use the workflow gateway, through `app.inject()` with a fake one: Temporal
 * trouble is a quick 503, a status comes from MongoDB when the workflow cannot answer, and a waited
 * sync maps its outcome (result, failure, rejection, still running) to 200/502/409/202.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { AccountNotFoundError } from '../../src/temporal/account-workflows.js';
import { accountInfo, call, type Fakes, fakeAdminApp, SYNC_RESULT } from './fakes.js';

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

const never = () => new Promise<never>(() => undefined);
/** What the Temporal client throws when its server cannot be reached (gRPC UNAVAILABLE). */
const unreachable = () => Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED'), { code: 14 });

async function withAccount(deps: Parameters<typeof fakeAdminApp>[0] = {}) {
  f = await fakeAdminApp(deps);
  f.stored.set('user-1', accountInfo('user-1', { channelId: 'chn_9', calendarIds: ['cal_1'] }));
  return f;
}

describe('Temporal unreachable or slow', () => {
  it('a call that does not answer within the limit is 503 temporal_unavailable', async () => {
    await withAccount({ deps: { temporalTimeoutMs: 50 } });
    f.workflows.isRunning.mockImplementation(never);
    f.workflows.requestSync.mockImplementation(never);
    // The calls never settle: only the Temporal timeout can have answered them.
    for (const [method, url, body] of [
      ['GET', '/accounts/user-1', undefined],
      ['POST', '/accounts/user-1/sync', { mode: 'full' }],
      ['POST', '/accounts/user-1/sync?wait=true', { mode: 'full' }],
    ] as const) {
      expect(await call(f.app, method, url, { body }), url).toMatchObject({
        status: 503,
        body: { error: 'temporal_unavailable', message: 'Temporal did not answer; retry later' },
      });
    }
    expect(f.workflows.syncNow).not.toHaveBeenCalled();
  });

  it('an unreachable server is 503 at once, and registration stays stored for a retry', async () => {
    await withAccount();
    f.workflows.start.mockRejectedValue(unreachable());
    const res = await call(f.app, 'POST', '/accounts', {
      body: { accountId: 'user-2', accessToken: 'a', refreshToken: 'r' },
    });
    expect(res).toMatchObject({ status: 503, body: { error: 'temporal_unavailable' } });
    expect(f.stored.has('user-2')).toBe(true);
    f.workflows.deregister.mockRejectedValue(unreachable());
    expect(await call(f.app, 'DELETE', '/accounts/user-1')).toMatchObject({ status: 503 });
  });
});

describe('GET /accounts/:accountId', () => {
  it('from the workflow when it answers, with the registration facts added', async () => {
    await withAccount();
    const res = await call(f.app, 'GET', '/accounts/user-1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      accountId: 'user-1',
      channel: { id: 'chn_1' },
      workflowRunning: true,
      source: 'workflow',
      dataCenter: 'us',
      calendarIds: ['cal_1'],
      registeredAt: '2026-05-01T10:00:00.000Z',
      deregisteredAt: null,
    });
    expect(f.syncRuns.summary).not.toHaveBeenCalled();
  });

  it('from the store when the workflow is not running: the sync runs summary and the account document', async () => {
    await withAccount();
    f.workflows.isRunning.mockResolvedValue(false);
    f.syncRuns.summary.mockResolvedValue({
      lastSyncs: {
        full: { kind: 'full', at: '2026-05-02T00:00:00.000Z', upserted: 5, deleted: 1, pages: 2 },
      },
      lastSuccessAt: new Date('2026-05-02T00:00:00Z'),
      lastFailure: { message: 'Cronofy GET /v1/events answered 500', at: new Date('2026-05-03T00:00:00Z') },
    });
    const res = await call(f.app, 'GET', '/accounts/user-1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      accountId: 'user-1',
      state: 'active',
      workflowRunning: false,
      source: 'store',
      channel: { id: 'chn_9', lastNotificationAt: null },
      lastSyncs: { full: { kind: 'full', upserted: 5, deleted: 1, pages: 2 } },
      lastSuccessfulSyncAt: '2026-05-02T00:00:00.000Z',
      lastError: {
        message: 'Cronofy GET /v1/events answered 500',
        type: null,
        at: '2026-05-03T00:00:00.000Z',
      },
      pending: { notifications: 0, requested: [] },
      calendarIds: ['cal_1'],
    });
    expect(f.syncRuns.summary).toHaveBeenCalledWith('user-1');
    expect(f.workflows.status).not.toHaveBeenCalled();
  });

  it('from the store when the run ended between the two calls', async () => {
    await withAccount();
    f.workflows.status.mockRejectedValue(new AccountNotFoundError('gone'));
    expect(await call(f.app, 'GET', '/accounts/user-1')).toMatchObject({
      status: 200,
      body: { workflowRunning: false, source: 'store' },
    });
  });

  it('503 when the status query fails because Temporal is unreachable', async () => {
    await withAccount();
    f.workflows.status.mockRejectedValue(unreachable());
    expect(await call(f.app, 'GET', '/accounts/user-1')).toMatchObject({
      status: 503,
      body: { error: 'temporal_unavailable' },
    });
  });
});

describe('POST /accounts/:accountId/sync', () => {
  it('queues (202) without waiting; 409 workflow_not_running when there is no workflow', async () => {
    await withAccount();
    expect(await call(f.app, 'POST', '/accounts/user-1/sync', { body: { mode: 'incremental' } })).toEqual(
      expect.objectContaining({
        status: 202,
        body: { accountId: 'user-1', mode: 'incremental', status: 'queued' },
      }),
    );
    expect(f.workflows.requestSync).toHaveBeenCalledWith('user-1', 'incremental');
    f.workflows.requestSync.mockRejectedValue(new AccountNotFoundError('none'));
    expect(await call(f.app, 'POST', '/accounts/user-1/sync', { body: { mode: 'full' } })).toMatchObject({
      status: 409,
      body: { error: 'workflow_not_running', message: expect.stringContaining('PUT new tokens') },
    });
  });

  it('?wait=true answers the result (200), or 202 running once the wait limit passes', async () => {
    await withAccount({ deps: { syncWaitMs: 50 } });
    expect(await call(f.app, 'POST', '/accounts/user-1/sync?wait=true', { body: { mode: 'full' } })).toEqual(
      expect.objectContaining({ status: 200, body: SYNC_RESULT }),
    );
    expect(f.workflows.syncNow).toHaveBeenCalledWith('user-1', 'full');
    f.workflows.syncNow.mockImplementation(never);
    expect(await call(f.app, 'POST', '/accounts/user-1/sync?wait=true', { body: { mode: 'full' } })).toEqual(
      expect.objectContaining({
        status: 202,
        body: { accountId: 'user-1', mode: 'full', status: 'running' },
      }),
    );
  });

  it('?wait=true maps a failed sync to 502, a rejected one to 409, a stopped workflow to 409', async () => {
    await withAccount();
    const failed = (type: string, message: string) =>
      new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ type, message }));
    f.workflows.syncNow.mockRejectedValueOnce(failed('SyncFailed', 'Cronofy answered 500'));
    expect(
      await call(f.app, 'POST', '/accounts/user-1/sync?wait=true', { body: { mode: 'full' } }),
    ).toMatchObject({
      status: 502,
      body: { error: 'sync_failed', message: 'sync failed: Cronofy answered 500' },
    });
    f.workflows.syncNow.mockRejectedValueOnce(failed('AccountDeregistered', 'account is closing'));
    expect(
      await call(f.app, 'POST', '/accounts/user-1/sync?wait=true', { body: { mode: 'full' } }),
    ).toMatchObject({
      status: 409,
      body: { error: 'sync_rejected', message: 'account is closing' },
    });
    f.workflows.syncNow.mockClear();
    f.workflows.isRunning.mockResolvedValue(false);
    expect(
      await call(f.app, 'POST', '/accounts/user-1/sync?wait=true', { body: { mode: 'full' } }),
    ).toMatchObject({
      status: 409,
      body: { error: 'workflow_not_running' },
    });
    expect(f.workflows.syncNow).not.toHaveBeenCalled();
  });
});

describe('registration, tokens and deregistration', () => {
  it('registering an existing account wakes its workflow rather than starting one', async () => {
    await withAccount();
    const res = await call(f.app, 'POST', '/accounts', {
      body: { accountId: 'user-1', accessToken: 'a', refreshToken: 'r', dataCenter: 'de', calendarIds: [] },
    });
    expect(res).toEqual(
      expect.objectContaining({ status: 200, body: { accountId: 'user-1', created: false } }),
    );
    expect(f.accounts.register).toHaveBeenCalledWith(
      expect.objectContaining({ dataCenter: 'de', calendarIds: null }),
    );
    expect(f.workflows.start).not.toHaveBeenCalled();
    expect(f.workflows.tokensUpdated).toHaveBeenCalledWith('user-1');
  });

  it('new tokens are stored, then the workflow is woken', async () => {
    await withAccount();
    const tokens = { accessToken: 'a2', refreshToken: 'r2' };
    expect(await call(f.app, 'PUT', '/accounts/user-1/tokens', { body: tokens })).toEqual(
      expect.objectContaining({ status: 200, body: { accountId: 'user-1', updated: true } }),
    );
    expect(f.accounts.replaceTokens).toHaveBeenCalledWith('user-1', tokens);
    expect(f.workflows.tokensUpdated).toHaveBeenCalledWith('user-1');
  });

  it('DELETE on a live account asks the workflow to deregister (and purge), touching no store', async () => {
    await withAccount();
    expect(await call(f.app, 'DELETE', '/accounts/user-1?purge=true')).toEqual(
      expect.objectContaining({
        status: 202,
        body: {
          accountId: 'user-1',
          purge: true,
          status: 'deregistering',
          removes: ['cronofy_authorization', 'events', 'calendars', 'sync_runs', 'account'],
        },
      }),
    );
    expect(f.workflows.deregister).toHaveBeenCalledWith('user-1', true);
    expect(f.events.deleteAccount).not.toHaveBeenCalled();
    expect(f.accounts.delete).not.toHaveBeenCalled();
  });
});
