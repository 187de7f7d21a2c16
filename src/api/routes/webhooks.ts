/**
 * The webhook routes (bearer-protected, ../auth.ts): register, list, show, delete, the recent
 * delivery attempts, replay from a cursor and resume. Delivery itself runs in Temporal
 * (src/workflows/webhook-delivery.ts); these routes change what is stored and wake or stop the
 * delivery workflows through the `WebhookWorkflows` gateway.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { WebhookCursorDoc, WebhookCursorsRepo } from '../../store/webhook-cursors-repo.js';
import type { WebhookDeliveriesRepo } from '../../store/webhook-deliveries-repo.js';
import { follows, type WebhookInfo, type WebhooksRepo } from '../../store/webhooks-repo.js';
import type { WebhookWorkflows } from '../../temporal/webhook-workflows.js';
import { newWebhookId, newWebhookSecret } from '../../webhooks/secret.js';
import { ApiError } from '../api-error.js';
import { adminAuth } from '../auth.js';
import { useStrictValidation } from '../schemas.js';
import { type AdminDeps, adminCalls, iso } from './admin-deps.js';
import {
  createWebhookSchema,
  deleteWebhookSchema,
  getWebhookSchema,
  listWebhooksSchema,
  replayWebhookSchema,
  resumeWebhookSchema,
  webhookDeliveriesRouteSchema,
} from './webhooks-schemas.js';

/** What the webhook routes are given (`AdminDeps.webhooks`). */
export interface WebhookApiDeps {
  webhooks: Pick<WebhooksRepo, 'create' | 'get' | 'list' | 'delete' | 'activate'>;
  cursors: Pick<WebhookCursorsRepo, 'forWebhook' | 'replay' | 'deleteWebhook'>;
  deliveries: Pick<WebhookDeliveriesRepo, 'recent' | 'deleteWebhook'>;
  workflows: Pick<WebhookWorkflows, 'changed' | 'resume' | 'stop'>;
  /** The registered, not deregistered, accounts (a new webhook starts delivering for them). */
  liveAccountIds(): Promise<string[]>;
}

type IdParams = { id: string };

/** Workflows signalled at once by one request (a webhook of every account may reach thousands). */
const FAN_OUT = 32;

/** `fn` for each of `items`, at most `FAN_OUT` at a time; the results in order. */
async function forEachAccount<T>(items: readonly string[], fn: (item: string) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < items.length; i += FAN_OUT) {
    out.push(...(await Promise.all(items.slice(i, i + FAN_OUT).map(fn))));
  }
  return out;
}

export const webhookNotFound = (id: string): ApiError =>
  new ApiError(404, 'webhook_not_found', `webhook ${id} does not exist`);

/** `url` must be an absolute http(s) URL without credentials (they would be logged with it). */
export function checkWebhookUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ApiError(400, 'invalid_url', `url must be an absolute http or https URL; got "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ApiError(400, 'invalid_url', `url must use http or https; got "${u.protocol}"`);
  }
  if (u.username || u.password) {
    throw new ApiError(400, 'invalid_url', 'url must not carry credentials; the signature authenticates us');
  }
  return u.toString();
}

export function webhookJson(w: WebhookInfo) {
  return {
    id: w._id,
    url: w.url,
    accountIds: w.accountIds,
    description: w.description,
    state: w.state,
    pausedReason: w.pausedReason,
    failingSince: iso(w.failingSince),
    pausedAt: iso(w.pausedAt),
    createdAt: iso(w.createdAt) as string,
  };
}

function cursorJson(c: WebhookCursorDoc) {
  return {
    accountId: c.accountId,
    cursor: c.feedCursor,
    accountUpdatesDelivered: c.updatesSeq,
    pending: c.pending
      ? {
          msgId: c.pending.msgId,
          type: c.pending.type,
          attempts: c.pending.attempts,
          since: c.pending.createdAt.toISOString(),
        }
      : null,
    deliveredAt: iso(c.deliveredAt),
  };
}

export const webhooksRoutes: FastifyPluginAsync<AdminDeps & { webhookApi: WebhookApiDeps }> = async (
  app,
  deps,
) => {
  const { temporal } = adminCalls(deps);
  const w = deps.webhookApi;
  useStrictValidation(app);
  app.addHook('onRequest', adminAuth(deps.config.adminToken));

  const webhook = async (id: string): Promise<WebhookInfo> => {
    const found = await w.webhooks.get(id);
    if (!found) throw webhookNotFound(id);
    return found;
  };
  /** Accounts that have (or had) a delivery workflow for the webhook: those with a cursor. */
  const reached = async (id: string) => (await w.cursors.forWebhook(id)).map((c) => c.accountId);

  app.post<{ Body: { url: string; accountIds?: string[]; description?: string } }>(
    '/webhooks',
    { schema: createWebhookSchema },
    async (req, reply) => {
      const url = checkWebhookUrl(req.body.url);
      const id = newWebhookId();
      const secret = newWebhookSecret();
      const created = await w.webhooks.create({
        id,
        url,
        accountIds: req.body.accountIds ?? null,
        description: req.body.description ?? null,
        secret,
      });
      // Existing accounts start from the beginning of their feed now; later ones are woken by
      // their first change. A failure here is logged, not answered: the secret must reach the
      // caller, and each account's next change starts its delivery anyway.
      const live = await w.liveAccountIds();
      const accounts = live.filter((a) => follows(created, a));
      try {
        await temporal(() => forEachAccount(accounts, (a) => w.workflows.changed(id, a)));
      } catch (err) {
        req.log.warn(
          { err, webhookId: id },
          'starting the delivery workflows failed; they start on the next change',
        );
      }
      return reply.code(201).send({ id, secret });
    },
  );

  app.get('/webhooks', { schema: listWebhooksSchema }, async () => ({
    webhooks: (await w.webhooks.list()).map(webhookJson),
  }));

  app.get<{ Params: IdParams }>('/webhooks/:id', { schema: getWebhookSchema }, async (req) => {
    const found = await webhook(req.params.id);
    return { ...webhookJson(found), accounts: (await w.cursors.forWebhook(found._id)).map(cursorJson) };
  });

  app.delete<{ Params: IdParams }>('/webhooks/:id', { schema: deleteWebhookSchema }, async (req) => {
    const found = await webhook(req.params.id);
    // Deleted first: a workflow woken meanwhile finds no webhook and ends by itself.
    await w.webhooks.delete(found._id);
    const accounts = new Set([...(await reached(found._id)), ...(found.accountIds ?? [])]);
    const stopped = await temporal(() =>
      forEachAccount([...accounts], (a) => w.workflows.stop(found._id, a)),
    );
    await w.cursors.deleteWebhook(found._id);
    await w.deliveries.deleteWebhook(found._id);
    return { webhookId: found._id, deleted: true, stoppedWorkflows: stopped.filter(Boolean).length };
  });

  app.get<{ Params: IdParams; Querystring: { limit?: number } }>(
    '/webhooks/:id/deliveries',
    { schema: webhookDeliveriesRouteSchema },
    async (req) => {
      const found = await webhook(req.params.id);
      const deliveries = await w.deliveries.recent(found._id, req.query.limit ?? 50);
      return {
        deliveries: deliveries.map((d) => ({
          msgId: d.msgId,
          type: d.type,
          accountId: d.accountId,
          attempt: d.attempt,
          status: d.status,
          error: d.error,
          latencyMs: d.latencyMs,
          at: d.at.toISOString(),
        })),
      };
    },
  );

  app.post<{ Params: IdParams; Body: { accountId: string; after?: string } }>(
    '/webhooks/:id/replay',
    { schema: replayWebhookSchema },
    async (req, reply) => {
      const found = await webhook(req.params.id);
      const { accountId } = req.body;
      if (!follows(found, accountId)) {
        throw new ApiError(
          400,
          'account_not_followed',
          `webhook ${found._id} does not follow account ${accountId}`,
        );
      }
      const after = req.body.after ?? null;
      await w.cursors.replay(found._id, accountId, after);
      await w.webhooks.activate(found._id);
      // Every paused workflow of the webhook delivers again (the webhook is active again), this
      // account's from the replayed cursor.
      const accounts = new Set([...(await reached(found._id)), accountId]);
      await temporal(() => forEachAccount([...accounts], (a) => w.workflows.resume(found._id, a)));
      return reply.code(202).send({ webhookId: found._id, accountId, after });
    },
  );

  app.post<{ Params: IdParams }>(
    '/webhooks/:id/resume',
    { schema: resumeWebhookSchema },
    async (req, reply) => {
      const found = await webhook(req.params.id);
      await w.webhooks.activate(found._id);
      const accounts = await reached(found._id);
      await temporal(() => forEachAccount(accounts, (a) => w.workflows.resume(found._id, a)));
      return reply.code(202).send({ webhookId: found._id, state: 'active', accounts: accounts.length });
    },
  );
};
