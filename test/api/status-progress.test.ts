/**
 * `GET /accounts/:id` with fakes: the running sync's `progress` (from its `sync_runs` document) and
 * when it is left out; and that the responses' serializers keep every field the documented examples
 * carry (a field missing from a named schema would be dropped silently).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventSchema } from '../../src/api/routes/events.js';
import { accountStatusSchema } from '../../src/api/routes/status-schemas.js';
import type { SyncRunDoc } from '../../src/store/db.js';
import type { AccountStatus } from '../../src/workflows/messages.js';
import { accountInfo, call, type Fakes, fakeAdminApp, workflowStatus } from './fakes.js';

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

const run = (over: Partial<SyncRunDoc> = {}): SyncRunDoc => ({
  accountId: 'user-1',
  kind: 'full',
  workflowRunId: 'run-1',
  params: {},
  startedAt: new Date('2026-05-01T10:00:00Z'),
  finishedAt: null,
  durationMs: null,
  pages: 3,
  pagesTotal: 8,
  upserted: 1200,
  deleted: 4,
  outcome: 'running',
  error: null,
  attempts: 1,
  ...over,
});

async function appWith(status: AccountStatus): Promise<Fakes> {
  const fakes = await fakeAdminApp();
  fakes.stored.set('user-1', accountInfo('user-1'));
  fakes.workflows.status.mockResolvedValue(status);
  return fakes;
}

describe('the running sync in the status', () => {
  it('shows pages done of the total and the counts while the workflow runs a sync', async () => {
    f = await appWith({ ...workflowStatus('user-1'), running: 'full' });
    f.syncRuns.running.mockResolvedValue(run());
    const res = await call(f.app, 'GET', '/accounts/user-1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ running: 'full', source: 'workflow' });
    expect(res.body['progress']).toEqual({
      kind: 'full',
      pagesDone: 3,
      pagesTotal: 8,
      upserted: 1200,
      deleted: 4,
      startedAt: '2026-05-01T10:00:00.000Z',
    });
    expect(f.syncRuns.running).toHaveBeenCalledWith('user-1');
  });

  it('says `pagesTotal: null` before the first page', async () => {
    f = await appWith({ ...workflowStatus('user-1'), running: 'incremental' });
    f.syncRuns.running.mockResolvedValue(
      run({ kind: 'incremental', pages: 0, pagesTotal: undefined, upserted: 0 }),
    );
    expect((await call(f.app, 'GET', '/accounts/user-1')).body['progress']).toMatchObject({
      kind: 'incremental',
      pagesDone: 0,
      pagesTotal: null,
    });
  });

  it('leaves it out when no sync runs, and when the running run is another kind (a stale one)', async () => {
    f = await appWith(workflowStatus('user-1'));
    f.syncRuns.running.mockResolvedValue(run());
    expect((await call(f.app, 'GET', '/accounts/user-1')).body).not.toHaveProperty('progress');
    expect(f.syncRuns.running).not.toHaveBeenCalled();

    f.workflows.status.mockResolvedValue({ ...workflowStatus('user-1'), running: 'incremental' });
    const stale = await call(f.app, 'GET', '/accounts/user-1');
    expect(stale.body).toMatchObject({ running: 'incremental' });
    expect(stale.body).not.toHaveProperty('progress');
  });

  it('leaves it out of the stored status (no workflow to say a sync runs)', async () => {
    f = await appWith(workflowStatus('user-1'));
    f.workflows.isRunning.mockResolvedValue(false);
    f.syncRuns.running.mockResolvedValue(run());
    const res = await call(f.app, 'GET', '/accounts/user-1');
    expect(res.body).toMatchObject({ source: 'store', running: null });
    expect(res.body).not.toHaveProperty('progress');
  });
});

describe('serialization keeps every documented field', () => {
  it('answers the AccountStatus example as it is', async () => {
    const {
      workflowRunning,
      source,
      dataCenter,
      calendarIds,
      registeredAt,
      deregisteredAt,
      progress,
      ...rest
    } = accountStatusSchema.example;
    f = await appWith(rest as unknown as AccountStatus);
    f.stored.set(
      'user-42',
      accountInfo('user-42', { dataCenter, calendarIds, createdAt: new Date(registeredAt), deregisteredAt }),
    );
    f.syncRuns.running.mockResolvedValue(
      run({
        accountId: 'user-42',
        kind: progress.kind,
        pages: progress.pagesDone,
        pagesTotal: progress.pagesTotal,
        upserted: progress.upserted,
        deleted: progress.deleted,
        startedAt: new Date(progress.startedAt),
      }),
    );
    const res = await call(f.app, 'GET', '/accounts/user-42');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...accountStatusSchema.example, workflowRunning, source });
  });

  it('answers the Event example as it is', async () => {
    f = await appWith(workflowStatus('user-1'));
    f.eventsReader.list.mockResolvedValue({ events: [eventSchema.example as never], nextCursor: null });
    const res = await call(f.app, 'GET', '/accounts/user-1/events');
    expect(res.body).toEqual({ events: [eventSchema.example], nextCursor: null });
  });
});
