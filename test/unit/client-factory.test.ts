/** `cronofyClientFactory`: every Cronofy client gets its base URL, credentials and hooks the same way. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { cronofyClientFactory, cronofySettings } from '../../src/cronofy/client-factory.js';

function recordingFetch() {
  const calls: { url: string; body: string }[] = [];
  const fetch = (async (url: URL | string, init?: RequestInit) => {
    calls.push({ url: String(url), body: String(init?.body ?? '') });
    return new Response(
      JSON.stringify({ token_type: 'bearer', access_token: 'at', refresh_token: 'rt', expires_in: 60 }),
      { status: 200, headers: { 'content-type': 'application/json' } },
    );
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const settings = { clientId: 'cid', clientSecret: 'sec', requestTimeoutMs: 5_000 };

describe('cronofyClientFactory', () => {
  it("calls the data center's API with the application's credentials", async () => {
    const { fetch, calls } = recordingFetch();
    const client = cronofyClientFactory(settings, { fetch })('uk');
    await client.exchangeCode('the-code', 'https://example.com/cb');
    expect(calls[0]?.url).toBe('https://api-uk.cronofy.com/oauth/token');
    expect(JSON.parse(calls[0]?.body ?? '{}')).toMatchObject({
      client_id: 'cid',
      client_secret: 'sec',
      code: 'the-code',
      redirect_uri: 'https://example.com/cb',
    });
  });

  it('uses CRONOFY_API_URL over the data center, and runs the per-client hooks', async () => {
    const { fetch, calls } = recordingFetch();
    const seen: string[] = [];
    const make = cronofyClientFactory({ ...settings, apiUrlOverride: 'http://127.0.0.1:9/' }, { fetch });
    const client = make('de', {
      beforeRequest: async () => void seen.push('before'),
      onResponse: (info) => void seen.push(`${info.method} ${info.path} ${info.status}`),
    });
    await client.exchangeCode('c', 'https://example.com/cb');
    expect(calls[0]?.url).toBe('http://127.0.0.1:9/oauth/token');
    expect(seen).toEqual(['before', 'POST /oauth/token 200']);
  });

  it('cronofySettings takes the current (first) secret from the config', () => {
    const config = loadConfig({
      CRONOFY_CLIENT_ID: 'cid',
      CRONOFY_CLIENT_SECRET: 'new-secret,old-secret',
      PUBLIC_URL: 'https://sync.example.test',
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    });
    expect(cronofySettings(config)).toMatchObject({ clientId: 'cid', clientSecret: 'new-secret' });
  });
});
