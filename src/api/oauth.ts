/**
 * Onboarding by Cronofy's OAuth authorization-code flow, in three steps:
 *
 * 1. `GET /oauth/connect?accountId=` (admin bearer) answers with a connect link,
 *    `$PUBLIC_URL/oauth/start?ticket=…`, for the service to hand to the user. The ticket is signed
 *    and names the account, its data center and whether it may replace the account's Cronofy
 *    identity; it expires after `TICKET_TTL_MS`.
 * 2. `GET /oauth/start?ticket=` in the user's browser sets an HttpOnly, SameSite=Lax cookie with a
 *    fresh nonce and redirects to Cronofy's authorize page with a signed `state` carrying that nonce
 *    (`STATE_TTL_MS`).
 * 3. `GET /oauth/callback?code=&state=` (public) accepts the state only from the browser holding the
 *    cookie with its nonce, and only once (used nonces are recorded), then exchanges the code.
 *
 * Why: a state alone is a bearer capability; bound to the browser that started the flow and used
 * once, a leaked or logged callback URL cannot attach someone else's calendar to the account or
 * replace its tokens. The MACs are keyed from the client secret (one derived key per purpose, so a
 * ticket is never a state), cannot be forged or altered, and expire.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { DATA_CENTERS, type DataCenter } from '../cronofy/types.js';

/** Read Events and push channels need only `read_events`; we never write to calendars. */
export const OAUTH_SCOPE = 'read_events';
/** From the redirect to Cronofy to the callback: a user consenting, not a session. */
export const STATE_TTL_MS = 10 * 60_000;
/** How long a connect link can be opened after the admin API made it. */
export const TICKET_TTL_MS = 60 * 60_000;
/** The cookie that binds a state to the browser that started the flow. */
export const NONCE_COOKIE = 'cronofy_sync_oauth';

export interface OAuthState {
  accountId: string;
  dataCenter: DataCenter;
  /** Expiry, epoch ms. */
  exp: number;
  nonce: string;
  /** The connect link allowed replacing the account's Cronofy identity (`replaceIdentity=true`). */
  replaceIdentity?: boolean;
}

export type StateCheck =
  | { ok: true; state: OAuthState }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

/**
 * Keys derived from the client secrets (current first), so the secret itself is never the MAC key;
 * one derivation per purpose, so a connect ticket does not verify as a state.
 */
export function stateKeys(secrets: readonly string[], purpose: 'state' | 'ticket' = 'state'): Buffer[] {
  const label = purpose === 'state' ? 'cronofy-sync oauth state v1' : 'cronofy-sync oauth ticket v1';
  return secrets.map((s) => createHmac('sha256', s).update(label).digest());
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

/** `<base64url JSON>.<base64url HMAC>`, signed with the first (current) key. */
export function signState(state: OAuthState, keys: readonly Buffer[]): string {
  const key = keys[0];
  if (!key) throw new Error('no OAuth state key');
  const payload = Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** Accepts a signature by any key (client secret rotation), compared in constant time. */
export function verifyState(text: string, keys: readonly Buffer[], now: number): StateCheck {
  const m = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/.exec(text);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, payload, sig] = m as unknown as [string, string, string];
  const given = Buffer.from(sig, 'base64url');
  if (!keys.some((k) => timingSafeEqual(mac(k, payload), given))) return { ok: false, reason: 'signature' };
  let state: OAuthState;
  try {
    state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as OAuthState;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (
    typeof state?.accountId !== 'string' ||
    !DATA_CENTERS.includes(state.dataCenter) ||
    typeof state.exp !== 'number'
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (state.exp <= now) return { ok: false, reason: 'expired' };
  return { ok: true, state };
}

/**
 * Cronofy's authorize page: `https://app.cronofy.com` (us) or `https://app-{dc}.cronofy.com`, or
 * under `CRONOFY_API_URL` when set (the simulator, a proxy).
 */
export function authorizeBaseUrl(dataCenter: DataCenter, apiUrlOverride: string | undefined): string {
  if (apiUrlOverride) return apiUrlOverride.replace(/\/+$/, '');
  return dataCenter === 'us' ? 'https://app.cronofy.com' : `https://app-${dataCenter}.cronofy.com`;
}

export function redirectUriFor(config: Pick<Config, 'http'>): string {
  return `${config.http.publicUrl}/oauth/callback`;
}

export function authorizeUrl(input: {
  dataCenter: DataCenter;
  apiUrlOverride: string | undefined;
  clientId: string;
  redirectUri: string;
  state: string;
}): string {
  const url = new URL(`${authorizeBaseUrl(input.dataCenter, input.apiUrlOverride)}/oauth/authorize`);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('scope', OAUTH_SCOPE);
  url.searchParams.set('state', input.state);
  return url.toString();
}

export function newState(
  accountId: string,
  dataCenter: DataCenter,
  now: number,
  opts: { nonce?: string; replaceIdentity?: boolean } = {},
): OAuthState {
  return {
    accountId,
    dataCenter,
    exp: now + STATE_TTL_MS,
    nonce: opts.nonce ?? newNonce(),
    ...(opts.replaceIdentity ? { replaceIdentity: true } : {}),
  };
}

/** 128 random bits, URL- and cookie-safe. */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** A connect link's ticket: the state's fields but no nonce yet (the browser gets it at /oauth/start). */
export function newTicket(
  accountId: string,
  dataCenter: DataCenter,
  now: number,
  replaceIdentity: boolean,
): OAuthState {
  return {
    accountId,
    dataCenter,
    exp: now + TICKET_TTL_MS,
    nonce: '',
    ...(replaceIdentity ? { replaceIdentity: true } : {}),
  };
}

/** The nonce cookie's value from a `Cookie` header, if present. */
export function nonceFromCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === NONCE_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * `Set-Cookie` for the nonce: HttpOnly (no script reads it), SameSite=Lax (sent on the top-level
 * redirect back from Cronofy, not on cross-site subrequests), Secure on https, scoped to the
 * callback and as short-lived as the state. An empty value with Max-Age=0 clears it.
 */
export function nonceCookie(nonce: string, secure: boolean, maxAgeSec = STATE_TTL_MS / 1000): string {
  return [
    `${NONCE_COOKIE}=${nonce}`,
    'Path=/oauth/callback',
    `Max-Age=${maxAgeSec}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** Constant-time comparison of two nonces (their lengths are not secret). */
export function sameNonce(a: string | undefined, b: string): boolean {
  if (a === undefined || b === '' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
