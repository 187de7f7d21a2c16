/** Token encryption at rest: AES-256-GCM with the full 16-byte tag required on decryption. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenCrypto } from '../../src/store/token-crypto.js';

const key = Buffer.alloc(32, 11);
const crypto = new TokenCrypto([{ id: createHash('sha256').update(key).digest('hex').slice(0, 8), key }]);

describe('TokenCrypto', () => {
  it('round-trips with a 16-byte tag', () => {
    const value = crypto.encrypt('refresh-token-1', 'acc_1');
    expect(Buffer.from(value.tag, 'base64')).toHaveLength(16);
    expect(crypto.decrypt(value, 'acc_1')).toBe('refresh-token-1');
  });

  it.each([4, 8, 12, 15])('refuses a tag truncated to %i bytes (Node would accept it otherwise)', (n) => {
    const value = crypto.encrypt('refresh-token-1', 'acc_1');
    const tag = Buffer.from(value.tag, 'base64').subarray(0, n).toString('base64');
    expect(() => crypto.decrypt({ ...value, tag }, 'acc_1')).toThrow();
  });

  it('refuses a full-length tag that does not match', () => {
    const value = crypto.encrypt('refresh-token-1', 'acc_1');
    const tag = Buffer.from(value.tag, 'base64');
    tag[0] = (tag[0] as number) ^ 1;
    expect(() => crypto.decrypt({ ...value, tag: tag.toString('base64') }, 'acc_1')).toThrow();
  });
});
