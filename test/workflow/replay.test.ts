/**
 * Determinism guard: replays recorded histories of the account workflow (and of the webhook
 * delivery workflow: webhook-*.pb) against today's code.
 * A change to workflow logic that is not gated with `patched()` fails here, in CI, instead of
 * breaking running workflows after a deploy. Fixtures come from the time-skipping tests, and one
 * (real-stack-push.pb: search attributes, task priorities) from the end-to-end test on the dev server:
 *   RECORD_HISTORIES=1 npx vitest run test/workflow/account-sync.test.ts
 *   RECORD_HISTORIES=1 npx vitest run test/e2e/notification-to-mongo.test.ts
 *   RECORD_HISTORIES=1 npx vitest run test/workflow/webhook-delivery.test.ts -t "<name>"
 * Record new fixtures only together with a deliberate, patched change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../support/stack.js';

const dir = join(import.meta.dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.pb'));

describe('workflow replay', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('replays %s deterministically', async (file) => {
    const history = temporal.api.history.v1.History.decode(readFileSync(join(dir, file)));
    expect(history.events?.length ?? 0).toBeGreaterThan(10);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `replay-${file}`);
  });
});
