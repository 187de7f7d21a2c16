/**
 * Helpers for tests: the run-wide servers started by `./global-setup.ts`, unique names so files
 * running in parallel never share a MongoDB database or a Temporal task queue, and control over
 * servers (stop/start) through the global setup's loopback control channel.
 *
 * Stopping the SHARED servers disturbs every test file running at the same time; a test that
 * needs an outage (e.g. "Temporal down -> 503, then recovery") should take an isolated server with
 * `isolatedTemporal()` / `isolatedMongo()`, which only that file uses.
 */
import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import { type MongoKind, timeSkippingServerPath } from '../../scripts/lib/servers.js';

export { timeSkippingServerPath };

/**
 * Starts the cached time-skipping test server, retrying a failed start.
 *
 * The SDK (sdk-core `EphemeralServer::start`) gives the process a hard-coded 5 s to accept a gRPC
 * connection and offers no option to wait longer. On 2 busy cores (CI, with the run-wide servers
 * still warming up) a start has missed that window and failed a whole test file, so a start that
 * times out is retried on a fresh port; the SDK kills the slow process before giving up on it.
 */
export async function createTimeSkippingEnv(attempts = 3): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } },
      });
    } catch (err) {
      if (attempt >= attempts || !/did not start within/.test(String(err))) throw err;
      console.warn(`time-skipping server start ${attempt}/${attempts} timed out; retrying: ${String(err)}`);
    }
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:<port>` of the run-wide Temporal dev server. */
    temporalAddress: string;
    temporalNamespace: string;
    temporalUiUrl: string;
    /** URI of the run-wide MongoDB-protocol server. */
    mongoUri: string;
    mongoKind: MongoKind;
    /** Base URL of the global setup's control channel. */
    serverControlUrl: string;
  }
}

export interface TemporalInfo {
  id: string;
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  running: boolean;
}

export interface MongoInfo {
  id: string;
  uri: string;
  kind: MongoKind;
  running: boolean;
}

/** Address of the run-wide Temporal dev server (`127.0.0.1:<port>`). */
export function testTemporalAddress(): string {
  return inject('temporalAddress');
}

/** Namespace on the run-wide Temporal dev server (`default`). */
export function testTemporalNamespace(): string {
  return inject('temporalNamespace');
}

/** URI of the run-wide MongoDB-protocol server. Use it with a database from `uniqueName()`. */
export function testMongoUri(): string {
  return inject('mongoUri');
}

/** Which MongoDB-protocol server the run uses: `mongodb-uri`, `mongod` or `ferretdb`. */
export function testMongoKind(): MongoKind {
  return inject('mongoKind');
}

let counter = 0;

/**
 * A name unique to this run and process, e.g. `uniqueName('events')` -> `events-m3k9x1-1-a1b2c3d4`.
 * Valid as a MongoDB database name (also under FerretDB: `[A-Za-z0-9_-]`, at most 63 characters),
 * a Temporal task queue or a workflow id prefix.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32) || 'test';
  return `${clean}-${Date.now().toString(36)}-${++counter}-${randomBytes(4).toString('hex')}`;
}

async function control<T>(method: 'GET' | 'POST' | 'DELETE', route: string): Promise<T> {
  const response = await fetch(`${inject('serverControlUrl')}${route}`, { method });
  const body = (await response.json()) as T | { error: string };
  if (!response.ok) {
    const message = (body as { error?: string }).error ?? response.statusText;
    throw new Error(`server control ${method} ${route} failed (${response.status}): ${message}`);
  }
  return body as T;
}

/** Stops the shared Temporal dev server (affects every file running now). Its state is kept. */
export function stopTemporal(): Promise<TemporalInfo> {
  return control('POST', '/temporal/shared/stop');
}

/** Starts the shared Temporal dev server again (same address, same state); resolves once ready. */
export function startTemporal(): Promise<TemporalInfo> {
  return control('POST', '/temporal/shared/start');
}

export function restartTemporal(): Promise<TemporalInfo> {
  return control('POST', '/temporal/shared/restart');
}

/** Restarts the shared MongoDB-protocol server (data kept; fails for an external MONGODB_URI). */
export function restartMongo(): Promise<MongoInfo> {
  return control('POST', '/mongo/shared/restart');
}

export function serverStatus(): Promise<Array<TemporalInfo | MongoInfo>> {
  return control('GET', '/status');
}

/** A server handle owned by one test file; `close()` it in `afterAll` (teardown also reaps it). */
export interface IsolatedServer<Info> {
  readonly info: Info;
  /** Stops the server; data is kept. */
  stop(): Promise<Info>;
  /** Starts it again on the same address with the same data; resolves once it answers. */
  start(): Promise<Info>;
  restart(): Promise<Info>;
  /** Stops it for good. */
  close(): Promise<void>;
}

function isolated<Info extends { id: string }>(type: 'temporal' | 'mongo', info: Info): IsolatedServer<Info> {
  const route = `/${type}/${info.id}`;
  return {
    info,
    stop: () => control<Info>('POST', `${route}/stop`),
    start: () => control<Info>('POST', `${route}/start`),
    restart: () => control<Info>('POST', `${route}/restart`),
    close: async () => {
      await control('DELETE', route);
    },
  };
}

/** A Temporal dev server (search attributes registered, state on disk) for this file alone. */
export async function isolatedTemporal(): Promise<IsolatedServer<TemporalInfo>> {
  return isolated('temporal', await control<TemporalInfo>('POST', '/temporal'));
}

/** A MongoDB-protocol server (mongod or FerretDB, never an external URI) for this file alone. */
export async function isolatedMongo(): Promise<IsolatedServer<MongoInfo>> {
  return isolated('mongo', await control<MongoInfo>('POST', '/mongo'));
}
