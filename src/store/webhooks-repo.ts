/**
 * `webhooks`: the registered endpoints, which accounts each follows, and whether it is delivering
 * (`active`) or stopped after its retry window ran out (`paused`). The signing secret is encrypted
 * at rest with the OAuth tokens' key (TokenCrypto, bound to the webhook id); only the creating
 * request sees it in plain text, and the delivery activity decrypts it to sign.
 */
import type { Collection } from 'mongodb';
import type { WebhookDoc, WebhookState } from './db.js';
import type { TokenCrypto } from './token-crypto.js';

export type { WebhookDoc, WebhookState } from './db.js';

/** A webhook without its secret: what the API lists and the workflows may see. */
export type WebhookInfo = Omit<WebhookDoc, 'secret'>;

export interface NewWebhook {
  id: string;
  url: string;
  /** null: every account. */
  accountIds: string[] | null;
  description: string | null;
  secret: string;
}

const NO_SECRET = { projection: { secret: 0 } } as const;

export class WebhooksRepo {
  constructor(
    private readonly webhooks: Collection<WebhookDoc>,
    private readonly crypto: TokenCrypto,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(w: NewWebhook): Promise<WebhookInfo> {
    const now = this.now();
    const doc: WebhookDoc = {
      _id: w.id,
      url: w.url,
      accountIds: w.accountIds,
      description: w.description,
      secret: this.crypto.encrypt(w.secret, w.id),
      state: 'active',
      pausedReason: null,
      failingSince: null,
      pausedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.webhooks.insertOne(doc);
    const { secret: _, ...info } = doc;
    return info;
  }

  async get(id: string): Promise<WebhookInfo | null> {
    return this.webhooks.findOne({ _id: id }, NO_SECRET) as Promise<WebhookInfo | null>;
  }

  /** The webhook with its plain secret, for signing (activity only). */
  async withSecret(id: string): Promise<(WebhookInfo & { secret: string }) | null> {
    const doc = await this.webhooks.findOne({ _id: id });
    if (!doc) return null;
    return { ...doc, secret: this.crypto.decrypt(doc.secret, id) };
  }

  /** Every webhook, oldest first (there are a handful; not paged). */
  async list(): Promise<WebhookInfo[]> {
    return (await this.webhooks
      .find({}, NO_SECRET)
      .sort({ createdAt: 1, _id: 1 })
      .toArray()) as WebhookInfo[];
  }

  /** Webhooks per state, every state present (two index-less counts over a handful of documents). */
  async countByState(): Promise<Record<WebhookState, number>> {
    const states: WebhookState[] = ['active', 'paused'];
    const counts = await Promise.all(states.map((state) => this.webhooks.countDocuments({ state })));
    return Object.fromEntries(states.map((state, i) => [state, counts[i] ?? 0])) as Record<
      WebhookState,
      number
    >;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.webhooks.deleteOne({ _id: id })).deletedCount === 1;
  }

  /**
   * Its retry window ran out: paused until resumed or replayed. The first pause keeps its reason
   * and failing time (other accounts' workflows of the same webhook may report theirs later).
   */
  async pause(id: string, p: { reason: string; failingSince: Date }): Promise<void> {
    await this.webhooks.updateOne(
      { _id: id, state: 'active' },
      {
        $set: {
          state: 'paused',
          pausedReason: p.reason,
          failingSince: p.failingSince,
          pausedAt: this.now(),
          updatedAt: this.now(),
        },
      },
    );
  }

  /** Delivering again. False when there is no such webhook. */
  async activate(id: string): Promise<boolean> {
    const res = await this.webhooks.updateOne(
      { _id: id },
      {
        $set: {
          state: 'active' satisfies WebhookState,
          pausedReason: null,
          failingSince: null,
          pausedAt: null,
          updatedAt: this.now(),
        },
      },
    );
    return res.matchedCount === 1;
  }
}

/** Whether the webhook follows the account. */
export const follows = (w: Pick<WebhookInfo, 'accountIds'>, accountId: string): boolean =>
  w.accountIds === null || w.accountIds.includes(accountId);
