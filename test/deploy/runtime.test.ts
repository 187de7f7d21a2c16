/**
 * One Node.js major everywhere: the suite runs on it (scripts/with-node.sh puts it on PATH when the
 * system Node is older), package.json `engines` claims it, the image is built on it, and
 * `@types/node` describes it. Plus the licence package.json names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './processes.js';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  license: string;
  engines: { node: string };
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const launcher = read('scripts/with-node.sh');
const NODE_MAJOR = Number(launcher.match(/^NODE_MAJOR=(\d+)$/m)?.[1]);
const NODE_VERSION = launcher.match(
  /^NODE_VERSION="\$\{CRONOFY_SYNC_NODE_VERSION:-(\d+\.\d+\.\d+)\}"$/m,
)?.[1];

describe('the Node.js runtime', () => {
  it('the suite runs on the supported major', () => {
    expect(NODE_MAJOR).toBeGreaterThanOrEqual(24);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(NODE_MAJOR);
  });

  it('engines, the image, the cached runtime and @types/node agree', () => {
    expect(pkg.engines.node).toBe(`>=${NODE_MAJOR}`);
    expect(NODE_VERSION?.split('.')[0]).toBe(String(NODE_MAJOR));
    expect(read('Dockerfile')).toMatch(
      new RegExp(`^ARG NODE_IMAGE=node:${NODE_VERSION}-bookworm-slim$`, 'm'),
    );
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${NODE_MAJOR}\\.`));
  });

  it('every npm script that runs node code goes through the launcher; tsx is development only', () => {
    for (const [name, script] of Object.entries(pkg.scripts)) {
      if (/\b(tsx|vitest|tsc|node)\b/.test(script))
        expect(script, name).toContain('bash scripts/with-node.sh');
    }
    expect(pkg.dependencies).not.toHaveProperty('tsx');
    expect(pkg.devDependencies).toHaveProperty('tsx');
    for (const name of ['start', 'start:api', 'start:worker'])
      expect(pkg.scripts[name]).toMatch(/ node dist\/main\.js (all|api|worker)$/);
  });
});

describe('LICENSE', () => {
  it('is the MIT licence package.json names', () => {
    expect(pkg.license).toBe('MIT');
    const text = read('LICENSE');
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} cronofy-sync contributors\n/);
    expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });
});
