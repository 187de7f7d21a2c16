/**
 * The service's processes for a chaos run: the worker (`bench/lib/chaos/worker-process.ts`, which calls
 * `startWorker` with a prebuilt workflow bundle) and the API (`src/main.ts api`, the production
 * entry point), each a child process run with tsx, so the scenario can SIGKILL or SIGTERM them and
 * start fresh ones, as an orchestrator would. Only processes this class started are signalled, by
 * their pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TAIL_BYTES = 64 * 1024;

export interface ServiceProcessOptions {
  name: string;
  /** Script and arguments, relative to the repository root, run as `node --import tsx <args>`. */
  args: string[];
  /** Service configuration (the variables `npm start` reads). */
  env: Record<string, string>;
  /**
   * When the process counts as started: `ipc` = it sends `{ type: 'ready' }`; a URL = it answers
   * 200 there.
   */
  ready: 'ipc' | { url: string };
  /** Appends the output of every process started to this file; otherwise only a tail is kept. */
  logFile?: string;
  /** Default 60 s. */
  startTimeoutMs?: number;
}

export interface ProcessExit {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How the scenario ended it: `kill` (SIGKILL), `stop` (SIGTERM), or `crash` (by itself). */
  how: 'kill' | 'stop' | 'crash';
}

export class ServiceProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #ending: ProcessExit['how'] = 'crash';
  #tail = '';
  #log: WriteStream | undefined;
  starts = 0;
  readonly exits: ProcessExit[] = [];

  constructor(private readonly opts: ServiceProcessOptions) {
    if (opts.logFile) this.#log = createWriteStream(opts.logFile, { flags: 'a' });
    this.#log?.on('error', () => undefined);
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The last output, for failure messages. */
  tail(): string {
    return this.#tail.trim();
  }

  /** Spawns the process and resolves once it is ready. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.opts.name} is already running`);
    const ipc = this.opts.ready === 'ipc';
    const child = spawn(process.execPath, ['--import', 'tsx', ...this.opts.args], {
      cwd: repoRoot,
      env: { ...process.env, ...this.opts.env },
      stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#ending = 'crash';
    this.starts += 1;
    const onData = (chunk: Buffer) => {
      this.#tail = (this.#tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
      this.#log?.write(chunk);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exits.push({ pid: child.pid, code, signal, how: this.#ending });
        resolve();
      }),
    );
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    const ready = this.opts.ready;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.opts.name} not ready within ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
      const onMessage = (m: unknown) => {
        if ((m as { type?: unknown } | null)?.type === 'ready') finish();
      };
      const onExit = (code: number | null, signal: string | null) =>
        finish(
          new Error(`${this.opts.name} exited (${signal ?? code}) before it was ready:\n${this.tail()}`),
        );
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (ready !== 'ipc') {
        void (async () => {
          while (!settled) {
            try {
              const res = await fetch(ready.url, { signal: AbortSignal.timeout(1_000) });
              if (res.ok) return finish();
            } catch {
              // not listening yet
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
      }
    });
  }

  /** SIGKILL, as a crash or an OOM kill would: no graceful shutdown, in-flight work is lost. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    this.#ending = 'kill';
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (the service shuts down gracefully), SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    this.#ending = 'stop';
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) child.kill('SIGKILL');
    }, graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => (this.#log ? this.#log.end(() => resolve()) : resolve()));
  }
}
