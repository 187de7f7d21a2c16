/**
 * `webhook_deliveries`: the recent delivery attempts of each webhook (message, account, attempt,
 * HTTP status or error, latency), for `GET /webhooks/:id/deliveries`. An operational log, bounded
 * by the service itself (FerretDB has no TTL indexes): the worker prunes attempts older than
 * `DELIVERY_RETENTION_MS` and all but the newest `DELIVERIES_KEPT` of each webhook, hourly.
 */
import type { Collection } from 'mongodb';
import type { WebhookDeliveryDoc } from './db.js';

export type { WebhookDeliveryDoc } from './db.js';

export const DELIVERY_RETENTION_MS = 7 * 86_400_000;
export const DELIVERIES_KEPT = 1_000;

export class WebhookDeliveriesRepo {
  constructor(private readonly deliveries: Collection<WebhookDeliveryDoc>) {}

  async record(d: WebhookDeliveryDoc): Promise<void> {
    await this.deliveries.insertOne({ ...d });
  }

  /** Newest first. */
  async recent(webhookId: string, limit: number): Promise<WebhookDeliveryDoc[]> {
    return this.deliveries
      .find({ webhookId }, { projection: { _id: 0 } })
      .sort({ at: -1 })
      .limit(limit)
      .toArray();
  }

  async deleteWebhook(webhookId: string): Promise<number> {
    return (await this.deliveries.deleteMany({ webhookId })).deletedCount;
  }

  /** Drops attempts past the retention, and each listed webhook's beyond its newest `kept`. */
  async prune(now: Date, webhookIds: readonly string[], kept = DELIVERIES_KEPT): Promise<number> {
    let n = (
      await this.deliveries.deleteMany({ at: { $lt: new Date(now.getTime() - DELIVERY_RETENTION_MS) } })
    ).deletedCount;
    for (const webhookId of webhookIds) {
      const [edge] = await this.deliveries.find({ webhookId }).sort({ at: -1 }).skip(kept).limit(1).toArray();
      if (edge) n += (await this.deliveries.deleteMany({ webhookId, at: { $lte: edge.at } })).deletedCount;
    }
    return n;
  }
}
