import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_TIMINGS,
  DEVELOPMENT_ENCRYPTION_KEY,
  loadConfig,
  type Role,
} from '../../src/config.js';
import { formatDuration, parseDuration } from '../../src/lib/duration.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = {
  CRONOFY_CLIENT_ID: 'cid',
  CRONOFY_CLIENT_SECRET: 'CRN_a',
  TOKEN_ENCRYPTION_KEY: KEY,
  PUBLIC_URL: 'https://sync.example.com',
};

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['1.5s', 1_500],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 'two seconds', '5 sec', '-5s', '5s5'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats back', () => {
    expect(formatDuration(604_800_000 * 2)).toBe('2w');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(1_500)).toBe('1500ms');
  });
});

describe('config', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig(base);
    expect(c.timings).toEqual(DEFAULT_TIMINGS);
    expect(c.http).toMatchObject({
      host: '0.0.0.0',
      port: 3000,
      publicUrl: 'https://sync.example.com',
      internalPort: undefined,
    });
    expect(c.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'cronofy-sync',
      metricsPort: undefined,
      // TLS, API key, profiles: test/unit/temporal-env-config.test.ts
      connection: expect.objectContaining({
        address: '127.0.0.1:7233',
        namespace: 'default',
        tls: undefined,
      }),
    });
    expect(c.mongo).toEqual({ uri: 'mongodb://127.0.0.1:27017', db: 'cronofy_sync' });
    expect(c.cronofy.dataCenter).toBe('us');
    expect(c.adminToken).toBeUndefined();
  });

  it('takes a comma-separated secret list, first is current', () => {
    const c = loadConfig({ ...base, CRONOFY_CLIENT_SECRET: 'CRN_new, CRN_old' });
    expect(c.cronofy.clientSecrets).toEqual(['CRN_new', 'CRN_old']);
  });

  it.each([
    ['CRONOFY_CLIENT_ID', { CRONOFY_CLIENT_ID: '' }],
    ['CRONOFY_DATA_CENTER', { CRONOFY_DATA_CENTER: 'mars' }],
    ['DEBOUNCE_QUIET', { DEBOUNCE_QUIET: 'soon' }],
    ['PORT', { PORT: '99999' }],
    ['TOKEN_ENCRYPTION_KEY', { TOKEN_ENCRYPTION_KEY: 'short' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['DEBOUNCE_MAX', { DEBOUNCE_QUIET: '20s', DEBOUNCE_MAX: '10s' }],
  ])('names %s when it is invalid', (variable, env) => {
    try {
      loadConfig({ ...base, ...env });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message).toContain(variable);
    }
  });

  it('worker sizing: the SDK defaults unless set, and a clear error for nonsense', () => {
    expect(loadConfig(base).worker).toEqual({
      maxCachedWorkflows: undefined,
      maxConcurrentActivities: undefined,
    });
    expect(
      loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '1000', WORKER_MAX_CONCURRENT_ACTIVITIES: '20' })
        .worker,
    ).toEqual({ maxCachedWorkflows: 1000, maxConcurrentActivities: 20 });
    expect(() => loadConfig({ ...base, WORKER_MAX_CONCURRENT_ACTIVITIES: '0' })).toThrow(
      /WORKER_MAX_CONCURRENT_ACTIVITIES/,
    );
    expect(() => loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(ConfigError);
  });

  it('local mode relaxes credentials, binds loopback and calls back on loopback', () => {
    const c = loadConfig({ LOCAL_MODE: '1' });
    expect(c.localMode).toBe(true);
    expect(c.tokenEncryptionKeys).toEqual([]);
    expect(c.http).toMatchObject({ host: '127.0.0.1', publicUrl: 'http://127.0.0.1:3000' });
    expect(loadConfig({ LOCAL_MODE: '1', HOST: '0.0.0.0' }).http.host).toBe('0.0.0.0');
    expect(loadConfig({ LOCAL_MODE: '1', ADMIN_TOKEN: 'short' }).adminToken).toBe('short');
    const dev = DEVELOPMENT_ENCRYPTION_KEY.key.toString('base64');
    expect(loadConfig({ LOCAL_MODE: '1', TOKEN_ENCRYPTION_KEY: dev }).tokenEncryptionKeys).toHaveLength(1);
  });

  describe('outside local mode, unsafe settings stop the process', () => {
    const refused = (env: Record<string, string | undefined>, role?: Role) => {
      const merged = { ...base, ...env };
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k as keyof typeof merged];
      try {
        loadConfig(merged, role);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return err as ConfigError;
      }
      return expect.unreachable('accepted');
    };

    it.each([
      ['missing', undefined, /is required/],
      ['http', 'http://sync.example.com', /https/],
      ['loopback', 'https://127.0.0.1:3000', /loopback/],
      ['localhost', 'https://localhost', /loopback/],
      ['IPv6 loopback', 'https://[::1]:8443', /loopback/],
    ])('PUBLIC_URL %s', (_name, value, message) => {
      const err = refused({ PUBLIC_URL: value });
      expect(err.variable).toBe('PUBLIC_URL');
      expect(err.message).toMatch(message);
    });

    it('a worker may run without PUBLIC_URL (it leaves callback URLs alone), but not with a bad one', () => {
      const c = loadConfig({ ...base, PUBLIC_URL: undefined }, 'worker');
      expect(c.http.publicUrlConfigured).toBe(false);
      expect(refused({ PUBLIC_URL: 'http://127.0.0.1:3000' }, 'worker').variable).toBe('PUBLIC_URL');
      expect(refused({ PUBLIC_URL: undefined }, 'api').variable).toBe('PUBLIC_URL');
    });

    it('the development encryption key is refused, alone or in a rotation list', () => {
      const dev = DEVELOPMENT_ENCRYPTION_KEY.key.toString('base64');
      expect(refused({ TOKEN_ENCRYPTION_KEY: dev }).message).toMatch(/development key/);
      const hex = DEVELOPMENT_ENCRYPTION_KEY.key.toString('hex');
      expect(refused({ TOKEN_ENCRYPTION_KEY: `${KEY},${hex}` }).variable).toBe('TOKEN_ENCRYPTION_KEY');
    });

    it('ADMIN_TOKEN shorter than 32 characters is refused; absent stays allowed (every call 401)', () => {
      expect(refused({ ADMIN_TOKEN: 'x'.repeat(31) }).message).toMatch(/at least 32/);
      expect(loadConfig({ ...base, ADMIN_TOKEN: 'x'.repeat(32) }).adminToken).toHaveLength(32);
      expect(loadConfig(base).adminToken).toBeUndefined();
    });

    it('binds 0.0.0.0 by default, and INTERNAL_PORT must differ from PORT', () => {
      expect(loadConfig(base).http.host).toBe('0.0.0.0');
      expect(loadConfig({ ...base, INTERNAL_PORT: '9464' }).http).toMatchObject({
        internalPort: 9464,
        internalHost: '0.0.0.0',
      });
      expect(
        loadConfig({ ...base, INTERNAL_PORT: '9464', INTERNAL_HOST: '10.0.0.5' }).http.internalHost,
      ).toBe('10.0.0.5');
      expect(refused({ PORT: '3000', INTERNAL_PORT: '3000' }).variable).toBe('INTERNAL_PORT');
    });
  });

  it('accepts hex keys and rotation lists with distinct ids', () => {
    const c = loadConfig({ ...base, TOKEN_ENCRYPTION_KEY: `${'ab'.repeat(32)},${KEY}` });
    expect(c.tokenEncryptionKeys).toHaveLength(2);
    expect(c.tokenEncryptionKeys[0]?.id).not.toBe(c.tokenEncryptionKeys[1]?.id);
  });
});
