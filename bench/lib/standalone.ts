/**
 * Lets every benchmark module run alone (`tsx bench/<name>.ts`) as well as through bench/run.ts.
 * Alone, the section is printed to stdout and saved as docs/bench/<id>.md; with `--write-doc` it
 * also replaces (or appends) the module's marked section in docs/benchmarks.md, in the same
 * `<!-- bench:<id>:begin/end -->` format bench/run.ts reads, so a later `npm run bench` keeps it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchContext, type BenchModule, knobsPrefix } from './module.js';
import { machineNote } from './sys.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** True when the file with this `import.meta.url` is the script node was started with. */
export function isMain(importMetaUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  const self = fileURLToPath(importMetaUrl);
  const target = path.resolve(script);
  return self === target || self.replace(/\.ts$/, '') === target.replace(/\.[cm]?[jt]s$/, '');
}

export function benchContext(command: string): BenchContext {
  return {
    command,
    date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    machine: machineNote(),
    log: (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`),
  };
}

function writeSection(m: BenchModule, markdown: string): void {
  const file = path.join(repoRoot, 'docs', 'benchmarks.md');
  const begin = `<!-- bench:${m.id}:begin -->`;
  const end = `<!-- bench:${m.id}:end -->`;
  const block = `${begin}\n## ${m.title}\n\n${markdown}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  const next =
    start >= 0 && stop > start
      ? text.slice(0, start) + block + text.slice(stop + end.length)
      : `${text.replace(/\n*$/, '')}\n\n${block}\n`;
  writeFileSync(file, next);
}

/** Runs `m` when its file is the entry point; call at the bottom of each module. */
export async function runIfMain(m: BenchModule, importMetaUrl: string): Promise<void> {
  if (!isMain(importMetaUrl)) return;
  const rel = path.relative(repoRoot, fileURLToPath(importMetaUrl));
  const writeDoc = process.argv.includes('--write-doc');
  const ctx = benchContext(`${knobsPrefix()}tsx ${rel}`);
  try {
    const r = await m.run(ctx);
    const section = `## ${m.title}\n\n${r.markdown}\n`;
    mkdirSync(path.join(repoRoot, 'docs', 'bench'), { recursive: true });
    writeFileSync(path.join(repoRoot, 'docs', 'bench', `${m.id}.md`), section);
    if (writeDoc) writeSection(m, r.markdown);
    process.stdout.write(section);
    const goals = r.goalsMet === undefined ? '' : r.goalsMet ? ' [goals met]' : ' [GOALS MISSED]';
    console.error(`${m.id}: ${r.summary}${goals}`);
    process.exit(0);
  } catch (err) {
    console.error(`[bench] ${m.id} failed:`, err);
    process.exit(1);
  }
}
