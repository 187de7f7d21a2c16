/**
 * Child processes for the deployment tests: start a command, keep its output, wait for a line or
 * for the exit, send signals, and ask `pgrep -f` whether anything matching is still running.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const tsxBin = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** stdout and stderr so far. */
  output(): string;
  stdout(): string;
  exited: Promise<Exit>;
  /** Resolves once the output matches, rejects when the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit, or rejects after `timeoutMs` (the process is left running). */
  exitWithin(timeoutMs: number): Promise<Exit>;
  /** SIGKILL to its process group (cleanup after a failed test). */
  kill(): void;
}

/** Starts `command` in its own process group (as a terminal job would be). */
export function start(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string },
): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let stdout = '';
  const listeners = new Set<() => void>();
  const onData = (isStdout: boolean) => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    out += text;
    if (isStdout) stdout += text;
    for (const l of listeners) l();
  };
  proc.stdout?.on('data', onData(true));
  proc.stderr?.on('data', onData(false));
  const exited = new Promise<Exit>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done: Exit | undefined;
  void exited.then((e) => {
    done = e;
    for (const l of listeners) l();
  });
  if (proc.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = proc.pid;

  return {
    proc,
    pid,
    output: () => out,
    stdout: () => stdout,
    exited,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) finish(() => resolve(m));
          else if (done)
            finish(() => reject(new Error(`exited (${JSON.stringify(done)}) before ${pattern}:\n${out}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${pattern} after ${timeoutMs} ms:\n${out}`))),
          timeoutMs,
        );
        const finish = (fn: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        listeners.add(check);
        check();
      });
    },
    exitWithin(timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`still running ${timeoutMs} ms later:\n${out}`)),
          timeoutMs,
        );
        void exited.then((e) => {
          clearTimeout(timer);
          resolve(e);
        });
      });
    },
    kill() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    },
  };
}

/** `pgrep -f pattern`: the matching processes' command lines (empty when none). */
export function pgrep(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('pgrep -af'));
  } catch {
    return []; // exit code 1: nothing matched
  }
}

/** The environment of this process without anything that would configure the service. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const configPrefixes = [
    'CRONOFY_',
    'TEMPORAL_',
    'MONGODB_',
    'DEBOUNCE_',
    'LOCAL_MODE',
    'ADMIN_TOKEN',
    'TOKEN_ENCRYPTION_KEY',
  ];
  const configNames = [
    'PUBLIC_URL',
    'HOST',
    'PORT',
    'LOG_LEVEL',
    'FULL_SYNC_INTERVAL',
    'WINDOW_EDGE_INTERVAL',
    'CHANNEL_CHECK_INTERVAL',
    'SYNC_RETRY_WINDOW',
    'NODE_OPTIONS',
    'VITEST',
    'VITEST_MODE',
    'VITEST_POOL_ID',
    'VITEST_WORKER_ID',
    'TEST',
  ];
  for (const [key, value] of Object.entries(process.env)) {
    const ours = key.startsWith('CRONOFY_SYNC_'); // the server cache (scripts/install-servers.sh)
    if (!ours && (configPrefixes.some((p) => key.startsWith(p)) || configNames.includes(key))) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
