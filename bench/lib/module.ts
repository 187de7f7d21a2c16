/**
 * What a benchmark module gives `bench/run.ts`: an id (its section key in docs/benchmarks.md), a
 * title, and `run()`, which measures and returns the section's markdown. Add a module by
 * writing `bench/<name>.ts` exporting one of these and listing it in `bench/run.ts`.
 */
export interface BenchContext {
  /** The command line that ran this, for the report (e.g. `npm run bench`). */
  command: string;
  /** Start of the run, ISO 8601. */
  date: string;
  /** One line describing the machine (CPU, cores, memory, Node). */
  machine: string;
  /** Progress to stderr. */
  log(message: string): void;
}

export interface BenchResult {
  /** The section body (without the `## title` line), in markdown. */
  markdown: string;
  /** Whether every goal the module checks was met; `undefined` when it has no goals. */
  goalsMet?: boolean;
  /** One-line summary printed at the end of the run. */
  summary: string;
}

export interface BenchModule {
  /** Stable key: `npm run bench -- <id>` runs only this module, and its section is keyed by it. */
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/**
 * The benchmark knobs set in this process's environment (`BENCH_*`, `CHAOS_*`), as a shell prefix
 * for the recorded command, so a figure in docs/benchmarks.md says exactly how it was produced.
 */
export function knobsPrefix(env: NodeJS.ProcessEnv = process.env): string {
  return Object.keys(env)
    .filter((k) => /^(BENCH|CHAOS)_/.test(k) && env[k] !== undefined)
    .sort()
    .map((k) => `${k}=${env[k]} `)
    .join('');
}

/** A positive number from the environment (a `BENCH_*` knob), or `fallback` when unset or invalid. */
export function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
