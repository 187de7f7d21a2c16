/**
 * Onboarding by Cronofy's OAuth authorization-code flow.
 *
 * `GET /oauth/connect?accountId=` (admin bearer) redirects to Cronofy's authorize page with a
 * signed `state` naming the account; the user consents; Cronofy sends the browser to
 * `GET /oauth/callback?code=&state=` (public: a browser carries no bearer), which verifies the
 * state, exchanges the code for tokens and registers the account (or stores the new tokens of an
 * existing one, resuming it).
 *
 * Why connect needs the admin token: whoever picks the account id in a valid state can attach their
 * own calendar to that id. The state is an HMAC over `{accountId, dataCenter, exp, nonce}`, keyed
 * from the client secret, so it cannot be forged or altered, and it expires.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { DATA_CENTERS, type DataCenter } from '../cronofy/types.js';

/** Read Events and push channels need only `read_events`; we never write to calendars. */
export const OAUTH_SCOPE = 'read_events';
export const STATE_TTL_MS = 15 * 60_000;

export interface OAuthState {
  accountId: string;
  dataCenter: DataCenter;
  /** Expiry, epoch ms. */
  exp: number;
  nonce: string;
}

export type StateCheck =
  | { ok: true; state: OAuthState }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

/** Keys derived from the client secrets (current first), so the secret itself is never the MAC key. */
export function stateKeys(secrets: readonly string[]): Buffer[] {
  return secrets.map((s) => createHmac('sha256', s).update('cronofy-sync oauth state v1').digest());
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

export function newState(accountId: string, dataCenter: DataCenter, now: number): OAuthState {
  return { accountId, dataCenter, exp: now + STATE_TTL_MS, nonce: randomBytes(9).toString('base64url') };
}
