/**
 * `Cronofy-HMAC-SHA256`: standard Base64 of HMAC-SHA256 over the raw body bytes, keyed with the
 * application's client secret. During secret rotation the header carries one value per active
 * secret, comma-separated. Pure functions, shared by the receiver (verify) and the simulator (sign).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type HmacVerdict =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: 'missing_header' | 'malformed_header' | 'mismatch' | 'no_secrets' };

export function computeHmac(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

/** The header value Cronofy would send with all of `secrets` active. */
export function signatureHeader(rawBody: Buffer | string, secrets: readonly string[]): string {
  return secrets.map((s) => computeHmac(rawBody, s)).join(',');
}

const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Accepts when any comma-separated value (trimmed) equals the HMAC computed with any of `secrets`.
 * Every candidate is compared against every secret, in constant time per comparison, so the time
 * taken does not depend on which value matched or how many leading bytes agree.
 * `secretIndex` says which of our secrets matched (0 = current), so an old one can be retired.
 */
export function verifyCronofyHmac(
  rawBody: Buffer,
  header: string | readonly string[] | undefined,
  secrets: readonly string[],
): HmacVerdict {
  if (secrets.length === 0) return { ok: false, reason: 'no_secrets' };
  if (header === undefined) return { ok: false, reason: 'missing_header' };
  // Node joins repeated headers with ', ' for most names; treat an array the same way.
  const joined = typeof header === 'string' ? header : header.join(',');
  const candidates = joined
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  if (candidates.length === 0) return { ok: false, reason: 'missing_header' };
  const wellFormed = candidates.filter((v) => BASE64_SHA256.test(v));
  if (wellFormed.length === 0) return { ok: false, reason: 'malformed_header' };

  const expected = secrets.map((s) => createHmac('sha256', s).update(rawBody).digest());
  let matched = -1;
  for (const value of wellFormed) {
    const got = Buffer.from(value, 'base64');
    if (got.length !== 32) continue;
    expected.forEach((exp, i) => {
      // No early exit: keep comparing so timing does not reveal which secret matched.
      if (timingSafeEqual(got, exp) && (matched === -1 || i < matched)) matched = i;
    });
  }
  return matched >= 0 ? { ok: true, secretIndex: matched } : { ok: false, reason: 'mismatch' };
}
