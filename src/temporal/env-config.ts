/**
 * The Temporal connection from the SDK's standard environment configuration
 * (`@temporalio/envconfig`, the same variables and profile file as the `temporal` CLI and the other
 * SDKs): one source for the API's client and the worker's NativeConnection.
 *
 *  - a TOML profile file: TEMPORAL_CONFIG_FILE, else `~/.config/temporalio/temporal.toml` if it
 *    exists; profile TEMPORAL_PROFILE, else `default`;
 *  - environment variables, which override the profile: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 *    TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH|_DATA,
 *    TEMPORAL_TLS_CLIENT_KEY_PATH|_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH|_DATA,
 *    TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_<HEADER>.
 *
 * TLS is on when the profile or the environment configures any TLS setting or an API key (Temporal
 * Cloud), unless TEMPORAL_TLS=false. Empty variables count as unset (compose passes `${X:-}`).
 * Certificate files are read here, at start, so a wrong path stops the process with the variable's
 * name rather than failing at the first connection.
 */
import { existsSync } from 'node:fs';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/worker';

type Env = Record<string, string | undefined>;

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  apiKey: string | undefined;
  /** undefined/false: plaintext; true: TLS with the system's roots; object: CA, server name, client cert. */
  tls: TLSConfig | boolean | undefined;
  /** gRPC metadata sent with every call (`grpc_meta` in the profile, TEMPORAL_GRPC_META_*). */
  metadata: Record<string, string> | undefined;
  /** TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE, when set (for the startup log). */
  profile: string | undefined;
  configFile: string | undefined;
}

/** Thrown with the variable to blame; src/config.ts turns it into a ConfigError. */
export class TemporalEnvError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The standard variables the service documents (README, "Configuration"; docs/operations.md).
 * Besides these, envconfig reads the `…_DATA` forms of the certificate variables and
 * TEMPORAL_GRPC_META_*; TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is refused (not supported).
 */
export const TEMPORAL_ENV_VARIABLES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_PROFILE',
] as const;

export const TEMPORAL_DEFAULT_ADDRESS = '127.0.0.1:7233';
export const TEMPORAL_DEFAULT_NAMESPACE = 'default';

const BOOL = /^(1|0|true|false)$/i;

/** Which variable a message from envconfig is about (best effort; the message is kept). */
function blame(env: Env, message: string): string {
  // A file that could not be read: the variable holding its path.
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('TEMPORAL_') && value && value.length > 3 && message.includes(value)) return name;
  }
  const pairs: Array<[RegExp, string]> = [
    [/client_cert/, 'TEMPORAL_TLS_CLIENT_CERT_PATH'],
    [/client_key/, 'TEMPORAL_TLS_CLIENT_KEY_PATH'],
    [/server_ca_cert/, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'],
    [/Profile '.*' not found/, 'TEMPORAL_PROFILE'],
  ];
  for (const [re, variable] of pairs) if (re.test(message)) return variable;
  return env.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE' : 'TEMPORAL_PROFILE';
}

export function temporalConnectionFromEnv(rawEnv: Env): TemporalConnectionConfig {
  // Empty = unset: envconfig would treat TEMPORAL_API_KEY="" as an API key (and turn TLS on).
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawEnv)) if (v !== undefined && v.trim() !== '') env[k] = v.trim();

  for (const name of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    const v = env[name];
    if (v !== undefined && !BOOL.test(v))
      throw new TemporalEnvError(name, `must be true or false (got "${v}")`);
  }
  if (/^(1|true)$/i.test(env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION ?? '')) {
    throw new TemporalEnvError(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
      'not supported by the TypeScript SDK; set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate',
    );
  }
  // envconfig compares exactly with "true"/"1".
  if (env.TEMPORAL_TLS) env.TEMPORAL_TLS = env.TEMPORAL_TLS.toLowerCase();
  for (const name of ['CLIENT_CERT', 'CLIENT_KEY', 'SERVER_CA_CERT']) {
    if (env[`TEMPORAL_TLS_${name}_PATH`] && env[`TEMPORAL_TLS_${name}_DATA`]) {
      throw new TemporalEnvError(
        `TEMPORAL_TLS_${name}_PATH`,
        `set either it or TEMPORAL_TLS_${name}_DATA, not both`,
      );
    }
  }

  // envconfig ignores a missing file; a file named explicitly must exist.
  if (env.TEMPORAL_CONFIG_FILE && !existsSync(env.TEMPORAL_CONFIG_FILE)) {
    throw new TemporalEnvError('TEMPORAL_CONFIG_FILE', `no such file: ${env.TEMPORAL_CONFIG_FILE}`);
  }

  let profile: ReturnType<typeof loadClientConfigProfile>;
  let options: ReturnType<typeof toClientOptions>;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: env });
    options = toClientOptions(profile); // reads the certificate files
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new TemporalEnvError(blame(env, message), message);
  }

  const tls = options.connectionOptions.tls ?? undefined;
  if (tls && typeof tls === 'object') {
    const pair = profile.tls ?? {};
    if ((pair.clientCert === undefined) !== (pair.clientKey === undefined)) {
      throw new TemporalEnvError(
        pair.clientCert ? 'TEMPORAL_TLS_CLIENT_KEY_PATH' : 'TEMPORAL_TLS_CLIENT_CERT_PATH',
        'mTLS needs both the client certificate and its key',
      );
    }
  }
  const metadata = options.connectionOptions.metadata as Record<string, string> | undefined;
  return {
    address: options.connectionOptions.address ?? TEMPORAL_DEFAULT_ADDRESS,
    namespace: options.namespace ?? TEMPORAL_DEFAULT_NAMESPACE,
    apiKey: options.connectionOptions.apiKey as string | undefined,
    tls,
    metadata: metadata && Object.keys(metadata).length > 0 ? metadata : undefined,
    profile: env.TEMPORAL_PROFILE,
    configFile: env.TEMPORAL_CONFIG_FILE,
  };
}

/** Connection options for `Connection`/`NativeConnection` (no secrets logged from here). */
export function connectionOptions(c: TemporalConnectionConfig) {
  return {
    address: c.address,
    ...(c.tls !== undefined ? { tls: c.tls } : {}),
    ...(c.apiKey !== undefined ? { apiKey: c.apiKey } : {}),
    ...(c.metadata !== undefined ? { metadata: c.metadata } : {}),
  };
}

/** What to log about the connection: where and how, never the key or certificate contents. */
export function describeConnection(c: TemporalConnectionConfig) {
  const tls = c.tls === undefined || c.tls === false ? 'off' : c.tls === true ? 'on' : 'on (custom)';
  const mtls = typeof c.tls === 'object' && c.tls.clientCertPair !== undefined;
  return {
    address: c.address,
    namespace: c.namespace,
    tls,
    mtls,
    apiKey: c.apiKey !== undefined,
    ...(c.profile ? { profile: c.profile } : {}),
    ...(c.configFile ? { configFile: c.configFile } : {}),
  };
}
