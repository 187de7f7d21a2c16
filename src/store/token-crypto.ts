/**
 * OAuth tokens at rest: AES-256-GCM with a random 96-bit IV per value. Each ciphertext names the
 * key that made it, so `TOKEN_ENCRYPTION_KEY` can list a new key first and old keys after it while
 * documents are re-encrypted (they are re-encrypted with the current key on every token write).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from '../config.js';

/**
 * GCM's tag is 16 bytes. Decryption insists on all of them: without `authTagLength`, Node accepts
 * a tag cut down to as few as 4 bytes (DEP0182), and a shorter tag is a weaker check.
 */
const AUTH_TAG_LENGTH = 16;

export interface EncryptedValue {
  v: 1;
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

export class TokenCrypto {
  constructor(private readonly keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('TokenCrypto needs at least one key');
  }

  encrypt(plain: string, aad: string): EncryptedValue {
    const current = this.keys[0] as EncryptionKey;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: AUTH_TAG_LENGTH });
    // The account id is bound in as associated data: a ciphertext copied to another account fails.
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return {
      v: 1,
      keyId: current.id,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  decrypt(value: EncryptedValue, aad: string): string {
    const key = this.keys.find((k) => k.id === value.keyId);
    if (!key)
      throw new Error(`token encrypted with unknown key ${value.keyId}; add it to TOKEN_ENCRYPTION_KEY`);
    const tag = Buffer.from(value.tag, 'base64');
    if (tag.length !== AUTH_TAG_LENGTH) throw new Error('token authentication tag has the wrong length');
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(value.iv, 'base64'), {
      authTagLength: AUTH_TAG_LENGTH,
    });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(value.data, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  }

  isCurrent(value: EncryptedValue): boolean {
    return value.keyId === (this.keys[0] as EncryptionKey).id;
  }
}
