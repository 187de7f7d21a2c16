/** OAuth onboarding's pure parts: the signed state and the authorize URL. */
import { describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  newState,
  OAUTH_SCOPE,
  STATE_TTL_MS,
  signState,
  stateKeys,
  verifyState,
} from '../../src/api/oauth.js';

const keys = stateKeys(['CRN_current_secret']);
const now = Date.parse('2026-05-01T12:00:00Z');

describe('OAuth state', () => {
  it('verifies what it signed, carrying account, data center and expiry', () => {
    const s = newState('user-42', 'de', now);
    const text = signState(s, keys);
    expect(text).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyState(text, keys, now + 1000)).toEqual({ ok: true, state: s });
    expect(s.exp).toBe(now + STATE_TTL_MS);
  });

  it('rejects a forged, altered, expired or malformed state', () => {
    const text = signState(newState('user-42', 'us', now), keys);
    const [payload, sig] = text.split('.') as [string, string];
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), accountId: 'victim' }),
    ).toString('base64url');
    expect(verifyState(`${other}.${sig}`, keys, now)).toEqual({ ok: false, reason: 'signature' });
    expect(
      verifyState(signState(newState('user-42', 'us', now), stateKeys(['CRN_attacker'])), keys, now),
    ).toEqual({
      ok: false,
      reason: 'signature',
    });
    expect(verifyState(text, keys, now + STATE_TTL_MS)).toEqual({ ok: false, reason: 'expired' });
    for (const bad of ['', 'abc', `${payload}.`, `${payload}.${sig}x`, `${payload}.${sig}.x`]) {
      expect(verifyState(bad, keys, now)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  it('accepts a state signed with a previous client secret during rotation', () => {
    const old = signState(newState('user-42', 'us', now), stateKeys(['CRN_old']));
    expect(verifyState(old, stateKeys(['CRN_new', 'CRN_old']), now).ok).toBe(true);
    expect(verifyState(old, stateKeys(['CRN_new']), now).ok).toBe(false);
  });
});

describe('authorize URL', () => {
  const base = { clientId: 'cid', redirectUri: 'https://sync.example.com/oauth/callback', state: 's.t' };
  it('per data center, with the read-only scope', () => {
    const us = new URL(authorizeUrl({ ...base, dataCenter: 'us', apiUrlOverride: undefined }));
    expect(`${us.origin}${us.pathname}`).toBe('https://app.cronofy.com/oauth/authorize');
    expect(Object.fromEntries(us.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'cid',
      redirect_uri: 'https://sync.example.com/oauth/callback',
      scope: OAUTH_SCOPE,
      state: 's.t',
    });
    expect(OAUTH_SCOPE).toBe('read_events');
    expect(authorizeUrl({ ...base, dataCenter: 'uk', apiUrlOverride: undefined })).toMatch(
      /^https:\/\/app-uk\.cronofy\.com\/oauth\/authorize\?/,
    );
  });

  it('under CRONOFY_API_URL when set', () => {
    expect(authorizeUrl({ ...base, dataCenter: 'de', apiUrlOverride: 'http://127.0.0.1:4000/' })).toMatch(
      /^http:\/\/127\.0\.0\.1:4000\/oauth\/authorize\?/,
    );
  });
});
