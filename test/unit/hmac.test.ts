import { describe, expect, it } from 'vitest';
import { computeHmac, signatureHeader, verifyCronofyHmac } from '../../src/cronofy/hmac.js';

// Cronofy's published vectors (from Cronofy's authentication docs): exact body bytes, two secrets.
const BODY = Buffer.from('{"example":"well-known"}', 'utf8');
const SECRET_1 = 'CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID';
const SECRET_2 = 'CRN_nGlYDFXwfSXgB9rvGNBJyfE454GGPtWIbNuPwr';
const SIG_1 = '5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0=';
const SIG_2 = 'BmQmWVuZ70ILWjr1CAt5oC7YOolgnku4WZtlrKfx/6k=';
const BOTH = `${SIG_1},${SIG_2}`;

describe('signatureHeader / computeHmac against the published vectors', () => {
  it('signs with one secret', () => {
    expect(computeHmac(BODY, SECRET_1)).toBe(SIG_1);
    expect(signatureHeader(BODY, [SECRET_1])).toBe(SIG_1);
    expect(signatureHeader(BODY, [SECRET_2])).toBe(SIG_2);
  });

  it('joins one value per active secret with a bare comma, in order', () => {
    expect(signatureHeader(BODY, [SECRET_1, SECRET_2])).toBe(BOTH);
    expect(signatureHeader(BODY.toString('utf8'), [SECRET_1, SECRET_2])).toBe(BOTH);
  });
});

describe('verifyCronofyHmac', () => {
  it('accepts each single-secret vector', () => {
    expect(verifyCronofyHmac(BODY, SIG_1, [SECRET_1])).toEqual({ ok: true, secretIndex: 0 });
    expect(verifyCronofyHmac(BODY, SIG_2, [SECRET_2])).toEqual({ ok: true, secretIndex: 0 });
  });

  it('accepts the two-secret header with either of our secrets and says which matched', () => {
    expect(verifyCronofyHmac(BODY, BOTH, [SECRET_1])).toEqual({ ok: true, secretIndex: 0 });
    expect(verifyCronofyHmac(BODY, BOTH, [SECRET_2])).toEqual({ ok: true, secretIndex: 0 });
    // We rotated: new secret first, old second. A header signed only with the old one matches index 1.
    expect(verifyCronofyHmac(BODY, SIG_1, [SECRET_2, SECRET_1])).toEqual({ ok: true, secretIndex: 1 });
    // Both match: the lowest index (our current secret) wins.
    expect(verifyCronofyHmac(BODY, BOTH, [SECRET_2, SECRET_1])).toEqual({ ok: true, secretIndex: 0 });
  });

  it('trims values and accepts a repeated header given as an array', () => {
    expect(verifyCronofyHmac(BODY, ` ${SIG_1} , ${SIG_2} `, [SECRET_2])).toEqual({
      ok: true,
      secretIndex: 0,
    });
    expect(verifyCronofyHmac(BODY, [SIG_1, SIG_2], [SECRET_2])).toEqual({ ok: true, secretIndex: 0 });
  });

  it('rejects a changed body, including the same JSON re-serialised', () => {
    expect(verifyCronofyHmac(Buffer.from('{"example":"well-known!"}'), SIG_1, [SECRET_1])).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyCronofyHmac(Buffer.from('{"example": "well-known"}'), SIG_1, [SECRET_1])).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects a signature made with a secret we do not hold', () => {
    expect(verifyCronofyHmac(BODY, SIG_2, [SECRET_1])).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyCronofyHmac(BODY, computeHmac(BODY, 'CRN_other'), [SECRET_1, SECRET_2])).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects a valid value with one flipped character', () => {
    const flipped = `${SIG_1.slice(0, 10)}${SIG_1[10] === 'A' ? 'B' : 'A'}${SIG_1.slice(11)}`;
    expect(verifyCronofyHmac(BODY, flipped, [SECRET_1])).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('distinguishes missing, malformed and unconfigured', () => {
    expect(verifyCronofyHmac(BODY, undefined, [SECRET_1])).toEqual({ ok: false, reason: 'missing_header' });
    expect(verifyCronofyHmac(BODY, '', [SECRET_1])).toEqual({ ok: false, reason: 'missing_header' });
    expect(verifyCronofyHmac(BODY, ' , ', [SECRET_1])).toEqual({ ok: false, reason: 'missing_header' });
    expect(verifyCronofyHmac(BODY, 'not-base64', [SECRET_1])).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    // Hex instead of base64, and a truncated value.
    expect(verifyCronofyHmac(BODY, Buffer.from(SIG_1, 'base64').toString('hex'), [SECRET_1])).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    expect(verifyCronofyHmac(BODY, SIG_1.slice(0, 40), [SECRET_1])).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    expect(verifyCronofyHmac(BODY, SIG_1, [])).toEqual({ ok: false, reason: 'no_secrets' });
  });

  it('ignores a malformed value next to a valid one', () => {
    expect(verifyCronofyHmac(BODY, `garbage,${SIG_1}`, [SECRET_1])).toEqual({ ok: true, secretIndex: 0 });
  });
});
