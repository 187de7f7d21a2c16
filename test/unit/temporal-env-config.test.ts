/**
 * The Temporal connection from the SDK's standard environment configuration (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, profile files), as src/config.ts reads it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { connectionOptions, describeConnection } from '../../src/temporal/env-config.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = {
  CRONOFY_CLIENT_ID: 'cid',
  CRONOFY_CLIENT_SECRET: 'CRN_a',
  TOKEN_ENCRYPTION_KEY: KEY,
  PUBLIC_URL: 'https://sync.example.com',
};
const temporal = (env: Record<string, string | undefined>) => loadConfig({ ...base, ...env }).temporal;

const dir = mkdtempSync(path.join(tmpdir(), 'temporal-env-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const PKEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';
const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

const rejects = (env: Record<string, string>, variable: string, message?: RegExp) => {
  let error: unknown;
  try {
    temporal(env);
  } catch (err) {
    error = err;
  }
  expect(error, variable).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).variable).toBe(variable);
  if (message) expect((error as ConfigError).message).toMatch(message);
};

describe('Temporal connection configuration', () => {
  it('defaults to a plaintext local server, namespace default', () => {
    const t = temporal({});
    expect(t.address).toBe('127.0.0.1:7233');
    expect(t.namespace).toBe('default');
    expect(t.connection).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default' });
    expect(t.connection.tls).toBeUndefined();
    expect(t.connection.apiKey).toBeUndefined();
    expect(connectionOptions(t.connection)).toEqual({ address: '127.0.0.1:7233' });
    expect(describeConnection(t.connection)).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      tls: 'off',
      mtls: false,
      apiKey: false,
    });
  });

  it('reads TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE; empty values count as unset', () => {
    const t = temporal({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'prod' });
    expect([t.address, t.namespace]).toEqual(['temporal:7233', 'prod']);
    // compose passes `${TEMPORAL_API_KEY:-}`: an empty key must not turn TLS on.
    const empty = temporal({
      TEMPORAL_ADDRESS: '',
      TEMPORAL_API_KEY: '',
      TEMPORAL_TLS: '',
      TEMPORAL_NAMESPACE: ' ',
    });
    expect(connectionOptions(empty.connection)).toEqual({ address: '127.0.0.1:7233' });
    expect(empty.namespace).toBe('default');
  });

  it('Temporal Cloud with an API key: TLS on with the system roots, the key sent as a bearer token', () => {
    const t = temporal({
      TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'acme-prod.a1b2c',
      TEMPORAL_API_KEY: 'secret-key',
    });
    expect(connectionOptions(t.connection)).toEqual({
      address: 'us-east-1.aws.api.temporal.io:7233',
      tls: true,
      apiKey: 'secret-key',
    });
    expect(describeConnection(t.connection)).toMatchObject({ tls: 'on', apiKey: true });
    expect(JSON.stringify(describeConnection(t.connection))).not.toContain('secret-key');
  });

  it('mTLS from certificate and key files (Temporal Cloud with certificates, or a self-hosted cluster)', () => {
    const t = temporal({
      TEMPORAL_ADDRESS: 'acme-prod.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'acme-prod.a1b2c',
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem', CERT),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key', PKEY),
    });
    expect(t.connection.tls).toEqual({
      serverNameOverride: undefined,
      serverRootCACertificate: undefined,
      clientCertPair: { crt: bytes(CERT), key: bytes(PKEY) },
    });
    expect(describeConnection(t.connection)).toMatchObject({ tls: 'on (custom)', mtls: true, apiKey: false });
  });

  it('a private CA and server name, certificates given inline (*_DATA)', () => {
    const t = temporal({
      TEMPORAL_ADDRESS: '10.0.0.5:7233',
      TEMPORAL_TLS_SERVER_CA_CERT_DATA: CA,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_TLS_CLIENT_CERT_DATA: CERT,
      TEMPORAL_TLS_CLIENT_KEY_DATA: PKEY,
    });
    expect(t.connection.tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: bytes(CA.trim()),
      clientCertPair: { crt: bytes(CERT.trim()), key: bytes(PKEY.trim()) },
    });
  });

  it('TEMPORAL_TLS=true alone: server-authenticated TLS; TEMPORAL_TLS=false wins over an API key', () => {
    expect(temporal({ TEMPORAL_TLS: 'true' }).connection.tls).toEqual({
      serverNameOverride: undefined,
      serverRootCACertificate: undefined,
      clientCertPair: undefined,
    });
    expect(temporal({ TEMPORAL_TLS: 'TRUE' }).connection.tls).toBeTruthy();
    expect(temporal({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }).connection.tls).toBe(false);
  });

  it('profiles: TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE, with environment variables overriding', () => {
    const config = file(
      'temporal.toml',
      [
        '[profile.default]',
        'address = "localhost:7233"',
        '',
        '[profile.cloud]',
        'address = "eu-west-1.aws.api.temporal.io:7233"',
        'namespace = "acme.a1b2c"',
        'api_key = "profile-key"',
        '[profile.cloud.grpc_meta]',
        'x-team = "calendars"',
        '',
        '[profile.selfhosted]',
        'address = "temporal.internal:7233"',
        'namespace = "calendars"',
        '[profile.selfhosted.tls]',
        `server_ca_cert_path = "${file('ca.pem', CA)}"`,
        `client_cert_path = "${file('c.pem', CERT)}"`,
        `client_key_path = "${file('c.key', PKEY)}"`,
        'server_name = "temporal.internal"',
      ].join('\n'),
    );
    expect(temporal({ TEMPORAL_CONFIG_FILE: config }).address).toBe('localhost:7233');
    const cloud = temporal({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'cloud' });
    expect(connectionOptions(cloud.connection)).toEqual({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      tls: true,
      apiKey: 'profile-key',
      metadata: { 'x-team': 'calendars' },
    });
    expect(cloud.namespace).toBe('acme.a1b2c');
    expect(describeConnection(cloud.connection)).toMatchObject({ profile: 'cloud', configFile: config });
    // The environment overrides the profile, field by field.
    const overridden = temporal({
      TEMPORAL_CONFIG_FILE: config,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_NAMESPACE: 'acme-staging.a1b2c',
      TEMPORAL_API_KEY: 'env-key',
      TEMPORAL_GRPC_META_X_TEAM: 'sync',
    });
    expect(overridden.connection).toMatchObject({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      namespace: 'acme-staging.a1b2c',
      apiKey: 'env-key',
      metadata: { 'x-team': 'sync' },
    });
    const selfHosted = temporal({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'selfhosted' });
    expect(selfHosted.connection.tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: bytes(CA),
      clientCertPair: { crt: bytes(CERT), key: bytes(PKEY) },
    });
  });

  it('refuses what would fail later or silently, naming the variable', () => {
    rejects({ TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') }, 'TEMPORAL_CONFIG_FILE', /no such file/);
    rejects({ TEMPORAL_CONFIG_FILE: file('bad.toml', '[profile.default\naddress=') }, 'TEMPORAL_CONFIG_FILE');
    rejects(
      {
        TEMPORAL_CONFIG_FILE: file('one.toml', '[profile.default]\naddress = "a:1"\n'),
        TEMPORAL_PROFILE: 'nope',
      },
      'TEMPORAL_PROFILE',
      /not found/,
    );
    rejects(
      {
        TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'no-such.pem'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: file('k', PKEY),
      },
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      /ENOENT/,
    );
    rejects(
      { TEMPORAL_TLS_CLIENT_CERT_PATH: file('only.pem', CERT) },
      'TEMPORAL_TLS_CLIENT_KEY_PATH',
      /both/,
    );
    rejects({ TEMPORAL_TLS_CLIENT_KEY_DATA: PKEY }, 'TEMPORAL_TLS_CLIENT_CERT_PATH', /both/);
    rejects(
      { TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca2.pem', CA), TEMPORAL_TLS_SERVER_CA_CERT_DATA: CA },
      'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      /not both/,
    );
    rejects({ TEMPORAL_TLS: 'yes' }, 'TEMPORAL_TLS', /true or false/);
    rejects(
      { TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' },
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
      /not supported/,
    );
  });

  it('ignores the user’s default profile file unless HOME points at it (tests pass their own env)', () => {
    const home = mkdtempSync(path.join(dir, 'home-'));
    const cfg = path.join(home, '.config', 'temporalio');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(path.join(cfg, 'temporal.toml'), '[profile.default]\naddress = "from-home:7233"\n');
    expect(temporal({ HOME: home }).address).toBe('from-home:7233');
    expect(temporal({}).address).toBe('127.0.0.1:7233');
  });
});
