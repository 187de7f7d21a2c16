/**
 * `oauth_nonces`: the nonces of OAuth states that reached the callback, so each state is used once.
 * Kept until the state would have expired anyway (TTL index on `expiresAt`; on servers without TTL
 * support, expired ones are removed as new ones are recorded: OAuth callbacks are rare).
 */
import type { Collection } from 'mongodb';

export interface OAuthNonceDoc {
  _id: string;
  expiresAt: Date;
}

export class OAuthNoncesRepo {
  constructor(
    private readonly nonces: Collection<OAuthNonceDoc>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Records `nonce` as used; false when it already was (a replayed state). Atomic: one insert. */
  async use(nonce: string, expiresAt: Date): Promise<boolean> {
    await this.nonces.deleteMany({ expiresAt: { $lt: this.now() } });
    try {
      await this.nonces.insertOne({ _id: nonce, expiresAt });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false;
      throw err;
    }
  }
}
