/**
 * Every file reference in the documentation resolves: the whole of README.md and docs/*.md, and the
 * comments of deploy/env.example, deploy/prometheus.yml, docker-compose.yml and the Dockerfile.
 * Also: every file named in the README's "Where things are" layout exists, and the README's
 * configuration table lists exactly the variables src/config.ts reads.
 *
 * What counts as a reference:
 * - markdown links and images `[text](target)`, reference definitions `[id]: target`, and HTML
 *   `src="..."` / `href="..."`, resolved against the file that contains them. http(s), mailto and
 *   anchor-only targets are skipped; for `file.md#anchor` the file must exist and have a heading
 *   with that anchor (GitHub's slugs);
 * - repository paths anywhere in the text (backticked or not, in code blocks too), resolved
 *   against the repository root: anything under `src/`, `docs/`, `scripts/`, `bench/`, `test/`,
 *   `deploy/` or `.ci/`, with or without a leading `./`;
 * - bare markdown file names (`README.md`, `benchmarks.md`), resolved against the containing file's
 *   folder or the repository root;
 * - a section named after a markdown file, `docs/x.md "Section"` or `README.md ("Section")`: the
 *   file must have a heading containing that text.
 * The test fails listing every reference that does not resolve, with file and line.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEMPORAL_ENV_VARIABLES } from '../../src/temporal/env-config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Files whose whole text is checked (markdown) and files of which only the comments are. */
function documentationFiles(): { markdown: string[]; comments: string[] } {
  const docs = readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return {
    markdown: ['README.md', ...docs.sort()],
    comments: ['deploy/env.example', 'deploy/prometheus.yml', 'docker-compose.yml', 'Dockerfile'],
  };
}

interface Ref {
  /** The file the reference is in, relative to the repository root. */
  file: string;
  line: number;
  /** As written. */
  text: string;
  /** The file or folder it names, relative to the repository root. */
  candidates: string[];
  anchor?: string;
  section?: string;
}

type Source = { file: string; text: string };

const PREFIXED_PATH = /(?<![\w./~$@-])(?:\.\/)?((?:src|docs|scripts|bench|test|deploy|\.ci)\/[\w./-]*)/g;
const BARE_MARKDOWN = /(?<![\w./~$@-])([\w-]+\.md)\b/g;
const SECTION_AFTER = /^\s*,?\s*\(?\s*"([^"]+)"/;
const MD_LINK = /!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REF_DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$/;
const HTML_ATTR = /\b(?:src|href)="([^"]+)"/g;
const URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s)>"'`]+/gi;

const norm = (p: string) => path.posix.normalize(p).replace(/\/$/, '');

/** Keeps the comment part of each line (`# ...`), blanks the rest; line numbers stay. */
function commentsOnly(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*#/.test(line)) return line;
      const at = line.search(/\s#\s/);
      return at >= 0 ? ' '.repeat(at) + line.slice(at) : '';
    })
    .join('\n');
}

/** The references in one file's text (markdown: links too; other files: pass their comments). */
function referencesIn({ file, text }: Source, markdown: boolean): Ref[] {
  const dir = path.posix.dirname(file);
  const refs: Ref[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    let rest = raw;
    if (markdown) {
      const targets: string[] = [];
      for (const m of raw.matchAll(MD_LINK)) targets.push(m[1] as string);
      for (const m of raw.matchAll(HTML_ATTR)) targets.push(m[1] as string);
      const def = REF_DEFINITION.exec(raw);
      if (def) targets.push(def[1] as string);
      for (const target of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const [p, anchor] = target.split('#', 2) as [string, string | undefined];
        const resolved = p.startsWith('/') ? p.slice(1) : path.posix.join(dir, decodeURI(p));
        refs.push({ file, line, text: target, candidates: [norm(resolved)], ...(anchor ? { anchor } : {}) });
      }
      // A link is checked by its target, above (relative to the file); its text is only a label.
      rest = rest.replace(MD_LINK, ' ');
      rest = rest.replace(HTML_ATTR, '');
      if (def) rest = '';
    }
    rest = rest.replace(URL, ' ');
    const section = (end: number): { section?: string } => {
      const s = SECTION_AFTER.exec(rest.slice(end));
      return s ? { section: s[1] as string } : {};
    };
    for (const m of rest.matchAll(PREFIXED_PATH)) {
      const p = (m[1] as string).replace(/[.,:;-]+$/, '');
      refs.push({ file, line, text: p, candidates: [norm(p)], ...section((m.index ?? 0) + m[0].length) });
    }
    for (const m of rest.matchAll(BARE_MARKDOWN)) {
      const name = m[1] as string;
      const candidates = [...new Set([norm(path.posix.join(dir, name)), name])];
      refs.push({ file, line, text: name, candidates, ...section((m.index ?? 0) + m[0].length) });
    }
  });
  return refs;
}

/** The text of a markdown heading as GitHub shows it (inline code, links and emphasis unwrapped). */
function headingText(h: string): string {
  return h
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/[*~]/g, '')
    .trim();
}

/** Headings outside fenced code blocks. */
function headings(markdown: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === undefined) fence = (f[1] as string)[0];
      else if ((f[1] as string)[0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) out.push(headingText(h[1] as string));
  }
  return out;
}

/** GitHub's heading anchors (github-slugger): lower case, punctuation dropped, spaces to `-`. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(markdown)) {
    const base = h
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Why a reference does not resolve, or undefined when it does. `root` is the repository. */
function problem(ref: Ref, root: string): string | undefined {
  const found = ref.candidates.find((c) => !c.startsWith('..') && existsSync(path.join(root, c)));
  if (found === undefined) return 'no such file or folder';
  if (ref.anchor === undefined && ref.section === undefined) return undefined;
  // Anchors into other files (`#L10` of a source file) are GitHub's line links: not checked.
  if (!found.endsWith('.md') || !statSync(path.join(root, found)).isFile()) return undefined;
  const text = readFileSync(path.join(root, found), 'utf8');
  if (ref.anchor !== undefined && !anchors(text).has(decodeURIComponent(ref.anchor).toLowerCase())) {
    return `${found} has no heading with the anchor #${ref.anchor}`;
  }
  if (ref.section !== undefined) {
    const want = ref.section.toLowerCase();
    if (!headings(text).some((h) => h.toLowerCase().includes(want))) {
      return `${found} has no section "${ref.section}"`;
    }
  }
  return undefined;
}

/**
 * The files named in the fenced block of the README's "Where things are": a line that starts with a
 * folder (`src/store/`) names files in it (`events-repo.ts`, `routes/accounts.ts`), and so do the
 * indented lines that continue it. Paths written from the root are checked as references already.
 */
function layoutFiles(readme: string): { line: number; file: string }[] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^## Where things are/.test(l));
  const open = lines.findIndex((l, i) => i > start && l.startsWith('```'));
  const out: { line: number; file: string }[] = [];
  if (start < 0 || open < 0) return out;
  let dir: string | undefined;
  for (let i = open + 1; i < lines.length && !(lines[i] as string).startsWith('```'); i++) {
    const l = lines[i] as string;
    if (!/^\s/.test(l)) dir = /^([\w.-]+(?:\/[\w.-]+)*\/)\s/.exec(l)?.[1];
    if (dir === undefined) continue;
    for (const m of l.matchAll(/(?<![\w./-])([\w-]+(?:\/[\w-]+)*\.(?:ts|sh))\b/g)) {
      out.push({ line: i + 1, file: path.posix.join(dir, m[1] as string) });
    }
  }
  return out;
}

function brokenReferences(sources: { source: Source; markdown: boolean }[], root: string): string[] {
  const out: string[] = [];
  for (const { source, markdown } of sources) {
    for (const ref of referencesIn(source, markdown)) {
      const why = problem(ref, root);
      if (why)
        out.push(`${ref.file}:${ref.line}: ${ref.text}${ref.section ? ` "${ref.section}"` : ''}: ${why}`);
    }
  }
  return out;
}

describe('documentation references', () => {
  it('every link and file reference in the docs, deploy files and compose resolves', () => {
    const { markdown, comments } = documentationFiles();
    const sources = [
      ...markdown.map((file) => ({
        source: { file, text: readFileSync(path.join(ROOT, file), 'utf8') },
        markdown: true,
      })),
      ...comments.map((file) => ({
        source: { file, text: commentsOnly(readFileSync(path.join(ROOT, file), 'utf8')) },
        markdown: false,
      })),
    ];
    const broken = brokenReferences(sources, ROOT);
    expect(broken, `references that do not resolve:\n${broken.join('\n')}\n`).toEqual([]);
  });

  it("the README's configuration table names every variable src/config.ts reads, and no other", () => {
    const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
    const inConfig = new Set([
      ...[...read('src/config.ts').matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)].map((m) => m[1]),
      // The Temporal connection: the SDK's standard variables (src/temporal/env-config.ts).
      ...TEMPORAL_ENV_VARIABLES,
    ]);
    const readme = read('README.md');
    const table = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
    );
    const inReadme = new Set(
      table
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .flatMap((l) => [...(l.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1])),
    );
    expect([...inReadme].sort()).toEqual([...inConfig].sort());
  });

  // The layout block names files by their folder (`src/store/ ... events-repo.ts`): each must exist.
  it('every file named in the README\'s "Where things are" layout exists', () => {
    const missing: string[] = [];
    for (const { line, file } of layoutFiles(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))) {
      if (!existsSync(path.join(ROOT, file))) missing.push(`README.md:${line}: ${file}`);
    }
    expect(missing, `files named in "Where things are" that do not exist:\n${missing.join('\n')}\n`).toEqual(
      [],
    );
  });

  // The checker itself: it must find what is broken (and nothing that is not), or a pass means nothing.
  it('reports missing files, folders, anchors and sections, and leaves URLs alone', () => {
    const sample = [
      '# Sample',
      '## Where things are',
      'See [the README](../README.md), [local mode](local-mode.md#walkthrough-a-change-from-the-calendar-to-mongodb),',
      '`src/config.ts`, `src/no-such-file.ts` and [gone](gone.md), [bad anchor](../README.md#no-such-heading).',
      'Also docs/missing.md "Anything", README.md ("No such section"), CONTRACTS-nowhere.md and `scripts/lib/`.',
      '```',
      '# not a heading',
      'npx tsx bench/nothing-here.ts; curl http://127.0.0.1:3000/docs/x/y.md https://example.com/src/a.ts',
      '```',
      '[anchor only](#where-things-are) and [site](https://example.com/docs/x.md)',
    ].join('\n');
    const refs = referencesIn({ file: 'docs/sample.md', text: sample }, true);
    const broken = refs.filter((r) => problem(r, ROOT) !== undefined).map((r) => r.text);
    expect(broken.sort()).toEqual([
      '../README.md#no-such-heading',
      'CONTRACTS-nowhere.md',
      'README.md',
      'bench/nothing-here.ts',
      'docs/missing.md',
      'gone.md',
      'src/no-such-file.ts',
    ]);
    expect(refs.map((r) => r.text)).not.toContain('#where-things-are');
    expect(anchors(sample)).toEqual(new Set(['sample', 'where-things-are']));

    const layout = [
      '## Where things are',
      '```',
      'src/api/     buildServer: receiver.ts,',
      '             routes/accounts.ts; one error handler',
      'src/main.ts  entry; src/lib/time.ts formats',
      'scripts/lib/ servers.ts',
      '```',
      'src/store/   not-in-the-block.ts',
    ].join('\n');
    expect(layoutFiles(layout).map((f) => f.file)).toEqual([
      'src/api/receiver.ts',
      'src/api/routes/accounts.ts',
      'scripts/lib/servers.ts',
    ]);

    const compose = commentsOnly(
      '# see docs/nowhere.md\nimage: x # and src/config.ts\nvolumes: ./src/gone\n',
    );
    expect(
      referencesIn({ file: 'docker-compose.yml', text: compose }, false).map((r) => [
        r.text,
        problem(r, ROOT),
      ]),
    ).toEqual([
      ['docs/nowhere.md', 'no such file or folder'],
      ['src/config.ts', undefined],
    ]);
  });
});
