/**
 * `accounts`: registration, data center, channel and state, with OAuth tokens encrypted at rest.
 * Plain tokens exist only in memory inside activities and the admin API; they are never logged
 * and never passed to workflows.
 */
import type { Collection } from 'mongodb';
import type { DataCenter } from '../cronofy/types.js';
import { SYNC_STATES } from '../domain.js';
import {
  type AccountsListParams,
  type AccountsPage,
  accountsFilter,
  accountsFingerprint,
  clampAccountsLimit,
  decodeAccountsCursor,
  encodeAccountsCursor,
  FAILING_STATES,
  toSummary,
} from './accounts-query.js';
import type { AccountDoc, SyncState } from './db.js';
import type { TokenCrypto } from './token-crypto.js';

export interface RegisterInput {
  accountId: string;
  accessToken: string;
  refreshToken: string;
  dataCenter: DataCenter;
  calendarIds: string[] | null;
  accessTokenExpiresAt?: Date | null;
  /** The Cronofy identity the tokens belong to, when known (OAuth callback). */
  cronofySub?: string;
}

export interface PlainTokens {
  accessToken: string;
  refreshToken: string;
  tokenVersion: number;
  /** When the access token expires, if known (set from `expires_in` on every refresh). */
  accessTokenExpiresAt?: Date | null;
}

/** What workflows and the status API may see of an account: no tokens. */
export type AccountInfo = Omit<AccountDoc, 'accessToken' | 'refreshToken'>;

export class AccountsRepo {
  constructor(
    private readonly accounts: Collection<AccountDoc>,
    private readonly crypto: TokenCrypto,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Idempotent: registering again replaces tokens and settings, keeps channel and history.
   * Registering a deregistered (not purged) account makes it live again. While a deregistration is
   * in progress (`markDeregistering`, not yet `markDeregistered`) nothing is written and the answer
   * is `deregistering`: the workflow would close the account again right after.
   */
  async register(input: RegisterInput): Promise<{ created: boolean; deregistering?: true }> {
    const now = this.now();
    // Matches no document while a deregistration is in progress: the upsert then tries to insert
    // a second document with the same _id, which fails (E11000) without writing anything.
    const notDeregistering = {
      $or: [{ deregisterRequestedAt: null }, { deregisteredAt: { $ne: null } }],
    };
    let res: Awaited<ReturnType<Collection<AccountDoc>['updateOne']>>;
    try {
      res = await this.accounts.updateOne(
        { _id: input.accountId, ...notDeregistering } as never,
        {
          $set: {
            accountId: input.accountId,
            dataCenter: input.dataCenter,
            calendarIds: input.calendarIds,
            accessToken: this.crypto.encrypt(input.accessToken, input.accountId),
            refreshToken: this.crypto.encrypt(input.refreshToken, input.accountId),
            accessTokenExpiresAt: input.accessTokenExpiresAt ?? null,
            ...(input.cronofySub === undefined ? {} : { cronofySub: input.cronofySub }),
            updatedAt: now,
            deregisteredAt: null,
            deregisterRequestedAt: null,
          },
          $inc: { tokenVersion: 1 },
          $setOnInsert: { createdAt: now, state: 'active', failingSince: null, channelId: '' },
        },
        { upsert: true },
      );
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return { created: false, deregistering: true };
      throw err;
    }
    const created = res.upsertedCount > 0;
    // `state` is the workflow's to keep, except that a closed account coming back starts active
    // (its new workflow only records state changes, and it starts from `active`).
    if (!created)
      await this.accounts.updateOne(
        { _id: input.accountId, state: 'closed' },
        { $set: { state: 'active', failingSince: null } },
      );
    return { created };
  }

  /**
   * New tokens after re-authorization, encrypted with the current key. Bumps `tokenVersion`, so a
   * refresh that read the old tokens cannot overwrite these. False when the account is unknown or
   * deregistered (nothing is stored then).
   */
  async replaceTokens(
    accountId: string,
    tokens: {
      accessToken: string;
      refreshToken: string;
      accessTokenExpiresAt?: Date | null;
      cronofySub?: string;
    },
  ): Promise<boolean> {
    const res = await this.accounts.updateOne(
      { _id: accountId, deregisteredAt: null },
      {
        $set: {
          accessToken: this.crypto.encrypt(tokens.accessToken, accountId),
          refreshToken: this.crypto.encrypt(tokens.refreshToken, accountId),
          accessTokenExpiresAt: tokens.accessTokenExpiresAt ?? null,
          ...(tokens.cronofySub === undefined ? {} : { cronofySub: tokens.cronofySub }),
          updatedAt: this.now(),
        },
        $inc: { tokenVersion: 1 },
      },
    );
    return res.matchedCount === 1;
  }

  /** Removes the account document (purge). */
  async delete(accountId: string): Promise<boolean> {
    return (await this.accounts.deleteOne({ _id: accountId })).deletedCount === 1;
  }

  async get(accountId: string): Promise<AccountInfo | null> {
    return this.accounts.findOne(
      { _id: accountId },
      { projection: { accessToken: 0, refreshToken: 0 } },
    ) as Promise<AccountInfo | null>;
  }

  /** Ids of the registered accounts that are not deregistered (a new webhook's starting set). */
  async liveIds(): Promise<string[]> {
    const docs = await this.accounts
      .find({ deregisteredAt: null }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .toArray();
    return docs.map((d) => d._id);
  }

  async tokens(accountId: string): Promise<PlainTokens | null> {
    const doc = await this.accounts.findOne({ _id: accountId });
    if (!doc) return null;
    return {
      accessToken: this.crypto.decrypt(doc.accessToken, accountId),
      refreshToken: this.crypto.decrypt(doc.refreshToken, accountId),
      tokenVersion: doc.tokenVersion,
      accessTokenExpiresAt: doc.accessTokenExpiresAt ?? null,
    };
  }

  /**
   * Stores refreshed tokens unless someone stored newer ones since `basedOnVersion` was read
   * (a re-authorization racing a refresh must win). Returns false when it lost that race.
   */
  async storeRefreshed(
    accountId: string,
    basedOnVersion: number,
    tokens: { accessToken: string; refreshToken: string; expiresInSec?: number },
  ): Promise<boolean> {
    const now = this.now();
    const res = await this.accounts.updateOne(
      { _id: accountId, tokenVersion: basedOnVersion },
      {
        $set: {
          accessToken: this.crypto.encrypt(tokens.accessToken, accountId),
          refreshToken: this.crypto.encrypt(tokens.refreshToken, accountId),
          accessTokenExpiresAt: tokens.expiresInSec
            ? new Date(now.getTime() + tokens.expiresInSec * 1000)
            : null,
          updatedAt: now,
        },
        $inc: { tokenVersion: 1 },
      },
    );
    return res.modifiedCount === 1;
  }

  async setChannel(accountId: string, channelId: string | null): Promise<void> {
    await this.accounts.updateOne(
      { _id: accountId },
      { $set: { channelId: channelId ?? '', updatedAt: this.now() } },
    );
  }

  /**
   * The workflow's state, as it records it (on each change, and again after failed bookkeeping).
   * `failingSince` keeps the moment the account first left `active`/`closed` for a failing state:
   * degraded → disconnected, or the same state recorded again, keeps it.
   */
  async setState(accountId: string, state: SyncState): Promise<void> {
    const now = this.now();
    if (!FAILING_STATES.includes(state)) {
      await this.accounts.updateOne(
        { _id: accountId },
        { $set: { state, failingSince: null, updatedAt: now } },
      );
      return;
    }
    await this.accounts.updateOne({ _id: accountId }, { $set: { state, updatedAt: now } });
    // A second small write only on a change into a failing state; `null` also matches documents
    // from before the field existed.
    await this.accounts.updateOne({ _id: accountId, failingSince: null }, { $set: { failingSince: now } });
  }

  /** One page of accounts for operators. Throws InvalidCursorError for a foreign or broken cursor. */
  async list(p: AccountsListParams): Promise<AccountsPage> {
    const limit = clampAccountsLimit(p.limit);
    const fingerprint = accountsFingerprint(p);
    const after = p.cursor === undefined ? undefined : decodeAccountsCursor(p.cursor, fingerprint);
    const docs = await this.accounts
      .find(accountsFilter(p, after), { projection: { accessToken: 0, refreshToken: 0 } })
      .sort({ _id: 1 })
      // One more than asked: whether it exists decides if there is a next page.
      .limit(limit + 1)
      .toArray();
    const more = docs.length > limit;
    const page = (more ? docs.slice(0, limit) : docs).map(toSummary);
    const last = page[page.length - 1];
    return {
      accounts: page,
      nextCursor: more && last ? encodeAccountsCursor(last.accountId, fingerprint) : null,
    };
  }

  /** A deregistration was handed to the workflow: `register` answers `deregistering` until it ends. */
  async markDeregistering(accountId: string): Promise<void> {
    await this.accounts.updateOne(
      { _id: accountId, deregisteredAt: null },
      { $set: { deregisterRequestedAt: this.now() } },
    );
  }

  /**
   * Accounts per state, every state present (0 when none): one count per state on the `state`
   * index, cheap enough to run on every metrics scrape.
   */
  async countByState(): Promise<Record<SyncState, number>> {
    const counts = await Promise.all(SYNC_STATES.map((state) => this.accounts.countDocuments({ state })));
    return Object.fromEntries(SYNC_STATES.map((state, i) => [state, counts[i] ?? 0])) as Record<
      SyncState,
      number
    >;
  }

  async markDeregistered(accountId: string): Promise<void> {
    const now = this.now();
    await this.accounts.updateOne(
      { _id: accountId },
      {
        $set: {
          state: 'closed',
          failingSince: null,
          channelId: '',
          deregisteredAt: now,
          deregisterRequestedAt: null,
          updatedAt: now,
        },
      },
    );
  }
}
