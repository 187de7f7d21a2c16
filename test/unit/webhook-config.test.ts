/** The webhook settings in src/config.ts: defaults, parsing and the errors naming the variable. */
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_WEBHOOK_SETTINGS, loadConfig } from '../../src/config.js';

const base = {
  CRONOFY_CLIENT_ID: 'cid',
  CRONOFY_CLIENT_SECRET: 'CRN_a',
  TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  PUBLIC_URL: 'https://sync.example.com',
};

describe('webhook config', () => {
  it('defaults: 24 h retry window, 10 s per attempt, 100 changes a message, 20 requests/s', () => {
    expect(loadConfig(base).webhooks).toEqual(DEFAULT_WEBHOOK_SETTINGS);
    expect(DEFAULT_WEBHOOK_SETTINGS).toMatchObject({
      retryWindowMs: 86_400_000,
      requestTimeoutMs: 10_000,
      maxChanges: 100,
      rateLimitPerSecond: 20,
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      ...base,
      WEBHOOK_RETRY_WINDOW: '2h',
      WEBHOOK_RETRY_INITIAL_INTERVAL: '200ms',
      WEBHOOK_RETRY_MAX_INTERVAL: '1s',
      WEBHOOK_TIMEOUT: '3s',
      WEBHOOK_MAX_CHANGES: '25',
      WEBHOOK_RATE_LIMIT: '5',
    });
    expect(c.webhooks).toEqual({
      retryWindowMs: 7_200_000,
      retryInitialIntervalMs: 200,
      retryMaxIntervalMs: 1_000,
      requestTimeoutMs: 3_000,
      maxChanges: 25,
      rateLimitPerSecond: 5,
    });
  });

  it.each([
    ['WEBHOOK_RETRY_WINDOW', 'forever', /positive duration/],
    ['WEBHOOK_TIMEOUT', '0s', /positive duration/],
    ['WEBHOOK_MAX_CHANGES', '0', /integer from 1 to 1000/],
    ['WEBHOOK_MAX_CHANGES', '5000', /integer from 1 to 1000/],
    ['WEBHOOK_RATE_LIMIT', '1.5', /integer from 1/],
    ['WEBHOOK_RETRY_MAX_INTERVAL', '1s', /at least WEBHOOK_RETRY_INITIAL_INTERVAL/],
  ])('%s=%s is refused, naming the variable', (name, value, message) => {
    const err = (() => {
      try {
        loadConfig({ ...base, [name]: value });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toMatch(message);
  });
});
