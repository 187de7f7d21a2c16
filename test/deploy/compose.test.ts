/**
 * The deployment files, kept correct by reading them (Docker does not run here): docker-compose.yml,
 * the Dockerfile, the Prometheus scrape config and alert rules, and the Grafana dashboard.
 *
 * docker-compose.yml is read twice: as YAML, for how it is written, and through the Compose
 * Specification's reference loader (compose-go, scripts/deploy-check), for what `docker compose`
 * would make of it with deploy/env.example: schema, interpolation, merge keys, profiles, and the
 * environment each container would get. The alert rules go through Prometheus's own rule parser.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { SEARCH_ATTRIBUTES, temporalCliPath } from '../../scripts/lib/servers.js';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { TEMPORAL_ENV_VARIABLES } from '../../src/temporal/env-config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Service {
  image?: string;
  build?: string | { context: string; target?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string | string[] };
  profiles?: string[];
  ports?: string[];
}

const compose = YAML.parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const ours = ['api', 'worker'] as const;

/**
 * How each variable of the README's configuration table reaches api and worker: `env` = passed
 * through from .env under its own name, `fixed` = set by the file (the value the image's ports
 * and probes expect), `absent` = that role does not read it. A variable added to the table fails
 * the test below until it has an entry here (and, if `env`, a line in deploy/env.example).
 */
type Wiring = 'env' | 'fixed' | 'absent';
const both = { api: 'env', worker: 'env' } as const;
const WIRING: Record<string, { api: Wiring; worker: Wiring }> = {
  CRONOFY_CLIENT_ID: both, // required by the config of either role
  CRONOFY_CLIENT_SECRET: both, // api: verifies pushes; worker: refreshes tokens
  CRONOFY_DATA_CENTER: both,
  CRONOFY_API_URL: both,
  CRONOFY_REQUEST_TIMEOUT: both, // api: OAuth and registration calls; worker: syncs
  PUBLIC_URL: both, // api: new accounts' callback URLs; worker: running ones
  HOST: { api: 'fixed', worker: 'absent' },
  PORT: { api: 'fixed', worker: 'absent' },
  // /metrics and /docs off the public port; its host defaults to HOST (0.0.0.0 in the container).
  INTERNAL_PORT: { api: 'fixed', worker: 'absent' },
  INTERNAL_HOST: { api: 'absent', worker: 'absent' },
  ADMIN_TOKEN: { api: 'env', worker: 'absent' },
  TOKEN_ENCRYPTION_KEY: both, // api: stores tokens; worker: reads them
  ...Object.fromEntries(TEMPORAL_ENV_VARIABLES.map((name) => [name, both])),
  TEMPORAL_TASK_QUEUE: both,
  MONGODB_URI: both,
  MONGODB_DB: both,
  DEBOUNCE_QUIET: both, // api: a new account's workflow input; worker: running workflows
  DEBOUNCE_MAX: both,
  FULL_SYNC_INTERVAL: both,
  WINDOW_EDGE_INTERVAL: both,
  CHANNEL_CHECK_INTERVAL: both,
  SYNC_RETRY_WINDOW: both,
  CRONOFY_RATE_LIMIT_PER_SECOND: { api: 'absent', worker: 'env' },
  CRONOFY_RATE_LIMIT_PER_MINUTE: { api: 'absent', worker: 'env' },
  NOTIFICATION_MAX_BYTES: { api: 'env', worker: 'absent' }, // the receiver's
  SIGNAL_TIMEOUT: { api: 'env', worker: 'absent' },
  LOG_LEVEL: both,
  LOCAL_MODE: { api: 'absent', worker: 'absent' }, // development only: never in a deployment
  METRICS_PORT: { api: 'absent', worker: 'fixed' },
  TEMPORAL_METRICS_PORT: { api: 'absent', worker: 'fixed' },
  WORKER_MAX_CACHED_WORKFLOWS: { api: 'absent', worker: 'env' },
  WORKER_MAX_CONCURRENT_ACTIVITIES: { api: 'absent', worker: 'env' },
  FEED_RETENTION: { api: 'absent', worker: 'env' },
  // Webhooks: the API starts delivery workflows with the retry settings (and the request timeout);
  // the worker starts them too, and delivers (batch size, rate limit).
  WEBHOOK_RETRY_WINDOW: both,
  WEBHOOK_RETRY_INITIAL_INTERVAL: both,
  WEBHOOK_RETRY_MAX_INTERVAL: both,
  WEBHOOK_TIMEOUT: both,
  WEBHOOK_MAX_CHANGES: { api: 'absent', worker: 'env' },
  WEBHOOK_RATE_LIMIT: { api: 'absent', worker: 'env' },
};
/**
 * Passed through like their table entry says (`…_DATA` for inline PEM) without a row of their own:
 * the PEM-text forms of the Temporal certificate variables, read by both roles.
 */
const PEM_DATA = [
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
];
/** The values `fixed` variables must have: what the Dockerfile, probes and prometheus.yml use. */
const FIXED: Record<string, string> = {
  HOST: '0.0.0.0',
  PORT: '3000',
  INTERNAL_PORT: '9092',
  METRICS_PORT: '9091',
  TEMPORAL_METRICS_PORT: '9464',
};
/** The .env variables of the compose stack itself (not read by cronofy-sync). */
const STACK_VARS = [
  'MONGO_ROOT_USERNAME',
  'MONGO_ROOT_PASSWORD',
  'TEMPORAL_POSTGRES_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
  'CRONOFY_SYNC_TAG',
];
/** No default anywhere: compose must refuse to start without each (`${VAR:?message}`). */
const SECRETS = [
  'CRONOFY_CLIENT_ID',
  'CRONOFY_CLIENT_SECRET',
  'TOKEN_ENCRYPTION_KEY',
  'ADMIN_TOKEN',
  'MONGO_ROOT_PASSWORD',
  'TEMPORAL_POSTGRES_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
];

let deployCheckPath: string | undefined;
/** scripts/deploy-check, cached outside the clone and built once per source change. */
function deployCheck(): string {
  deployCheckPath ??= execFileSync('bash', [path.join(root, 'scripts/install-deploy-tools.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return deployCheckPath;
}

/** The variables of the README's configuration table (the names in its first column). */
function readmeVariables(): string[] {
  const readme = read('README.md');
  const from = readme.indexOf('## Configuration');
  const table = readme.slice(from, readme.indexOf('\n## ', from + 1));
  return [
    ...new Set(
      table
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .flatMap((l) => [...(l.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)),
    ),
  ];
}

/** `NAME=value` lines of an env file (comments and blank lines skipped). */
function envFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Z][A-Z0-9_]*)=(.*)$/);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

const script = (s: Service) => [s.entrypoint, s.command].flat().filter(Boolean).join('\n');

describe('docker-compose.yml', () => {
  it('has the Temporal-with-PostgreSQL layout, MongoDB, and our api and worker', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgresql',
        'temporal-schema',
        'temporal',
        'temporal-setup',
        'temporal-ui',
        'mongo',
        'api',
        'worker',
      ]),
    );
    expect(services.postgresql?.image).toMatch(/^postgres:/);
    expect(services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:/);
    expect(script(services['temporal-schema']!)).toContain('temporal-sql-tool');
    expect(script(services['temporal-schema']!)).toMatch(/setup-schema[\s\S]*update-schema/);
    expect(services.temporal?.image).toMatch(/^temporalio\/server:/);
    expect(services.temporal?.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(services['temporal-setup']?.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
    expect(services['temporal-ui']?.ports).toEqual([expect.stringMatching(/:8080:8080$/)]);
    expect(services.mongo?.image).toMatch(/^mongo:/);
  });

  it('pins every image (a version tag or digest, never latest) or builds it', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect(s.image, name).toMatch(/^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
      expect(s.image, name).not.toMatch(/:latest$/);
      expect(s.image, name).toMatch(/[:@].*\d/); // a version, not a moving name like `stable`
    }
  });

  it('runs api and worker from our build, in their roles', () => {
    for (const name of ours) {
      const s = services[name]!;
      expect(s.build, name).toMatchObject({ context: '.', target: 'runtime' });
      expect(s.image, name).toBe(services.api?.image);
    }
    expect(services.api?.command).toEqual(['api']);
    expect(services.worker?.command).toEqual(['worker']);
    expect(services.api?.ports?.[0]).toMatch(/:3000$/);
  });

  it('takes every secret and password from .env with no default (VAR:?message)', () => {
    const raw = read('docker-compose.yml');
    for (const name of SECRETS) {
      const uses = [...raw.matchAll(new RegExp(`\\$\\{${name}(:?[-?+])?[^}]*\\}`, 'g'))].map((m) => m[0]);
      expect(uses.length, name).toBeGreaterThan(0);
      for (const use of uses) expect(use, name).toMatch(new RegExp(`^\\$\\{${name}:\\?.+\\}$`));
    }
    expect(raw).not.toMatch(/PASSWORD:\s*\$\{[A-Z_]+:-/);
  });

  it('creates the namespace and every custom search attribute in the setup job', () => {
    const setup = script(services['temporal-setup']!);
    expect(setup).toMatch(/temporal operator namespace create/);
    const typeOf: Record<string, string> = { Keyword: 'Keyword', Datetime: 'Datetime' };
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      expect(setup).toMatch(new RegExp(`\\b${name}\\s+${typeOf[type]}\\b`));
    }
    expect(setup).toMatch(/temporal operator search-attribute create [^\n]*--name "\$\$1" --type "\$\$2"/);
    expect(services['temporal-setup']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('has health checks and start-order conditions', () => {
    for (const name of ['postgresql', 'temporal', 'mongo', 'api', 'worker']) {
      expect(services[name]?.healthcheck?.test, name).toBeTruthy();
    }
    // The receiver's probe: a MongoDB outage must not mark a receiver that takes pushes unhealthy.
    expect(String(services.api?.healthcheck?.test)).toContain('/readyz/receiver');
    // Temporal: an API request the frontend answers, not an open port (`nc -z`).
    const temporalCheck = String(services.temporal?.healthcheck?.test);
    expect(temporalCheck).not.toMatch(/\bnc\b/);
    expect(temporalCheck).toMatch(/wget -qO- http:\/\/127\.0\.0\.1:7243\/api\/v1\/cluster-info/);
    expect(script(services['temporal-setup']!)).toMatch(
      /temporal operator cluster health \| grep -q SERVING/,
    );
    // MongoDB: an authenticated command with the root user compose creates.
    const mongoCheck = String(services.mongo?.healthcheck?.test);
    expect(mongoCheck).toMatch(
      /--username "\$\$MONGO_INITDB_ROOT_USERNAME" --password "\$\$MONGO_INITDB_ROOT_PASSWORD"/,
    );
    expect(mongoCheck).toContain('listDatabases');
    expect(services.mongo?.environment).toEqual({
      MONGO_INITDB_ROOT_USERNAME: expect.stringMatching(/^\$\{MONGO_ROOT_USERNAME:\?/),
      MONGO_INITDB_ROOT_PASSWORD: expect.stringMatching(/^\$\{MONGO_ROOT_PASSWORD:\?/),
    });
    expect(services['temporal-schema']?.depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(services.temporal?.depends_on).toEqual({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    expect(services['temporal-setup']?.depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(services['temporal-ui']?.depends_on).toMatchObject({ temporal: { condition: 'service_healthy' } });
    for (const name of ours) {
      expect(services[name]?.depends_on, name).toEqual({
        mongo: { condition: 'service_healthy' },
        temporal: { condition: 'service_healthy' },
        'temporal-setup': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('keeps api and worker scalable apart (no fixed container names, no single host port)', () => {
    const raw = read('docker-compose.yml');
    expect(raw).not.toMatch(/container_name:/);
    expect(services.api?.ports?.[0]).toMatch(/\d+-\d+:3000$/);
    expect(services.worker?.ports).toBeUndefined();
  });
});

interface LoadedService {
  image?: string;
  environment?: Record<string, string | null>;
  volumes?: Array<{ type: string; source?: string; target: string; read_only?: boolean }>;
}
interface Loaded {
  ok: boolean;
  stderr: string;
  services: Record<string, LoadedService>;
}

describe("docker-compose.yml through the Compose Specification's loader", () => {
  let tool = '';
  let dir = '';
  /** deploy/env.example with its blanks filled the way an operator would (valid for src/config.ts). */
  let secrets = '';

  beforeAll(() => {
    tool = deployCheck();
    dir = mkdtempSync(path.join(os.tmpdir(), 'compose-test-'));
    secrets = path.join(dir, 'secrets.env');
    writeFileSync(
      secrets,
      [
        'CRONOFY_CLIENT_ID=client-id',
        'CRONOFY_CLIENT_SECRET=client-secret',
        `TOKEN_ENCRYPTION_KEY=${Buffer.alloc(32, 9).toString('base64')}`,
        `ADMIN_TOKEN=${'a'.repeat(44)}`,
        'MONGO_ROOT_PASSWORD=0123456789abcdef0123456789abcdef',
        'TEMPORAL_POSTGRES_PASSWORD=pg-password',
        'GRAFANA_ADMIN_PASSWORD=grafana-password',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Loads docker-compose.yml with every profile, reading only the env files given. */
  const load = (...envFiles: string[]): Loaded => {
    const args = ['compose', ...envFiles.flatMap((f) => ['-env-file', f]), '-profile', '*'];
    const res = spawnSync(tool, [...args, path.join(root, 'docker-compose.yml')], { encoding: 'utf8' });
    if (res.status !== 0) return { ok: false, stderr: res.stderr, services: {} };
    return { ok: true, stderr: res.stderr, services: JSON.parse(res.stdout).services };
  };
  const envExample = () => path.join(root, 'deploy/env.example');

  it('refuses to load until .env sets every secret, and loads once it does', () => {
    const bare = load(envExample());
    expect(bare.ok).toBe(false);
    const missing = new Set(
      [...bare.stderr.matchAll(/required variable ([A-Z_]+) is missing/g)].map((m) => m[1]),
    );
    expect([...missing].sort()).toEqual([...SECRETS].sort());
    // Those are exactly the blanks an operator fills in deploy/env.example.
    const example = envFile(read('deploy/env.example'));
    for (const name of SECRETS) expect(example.get(name), name).toBe('');

    const filled = load(envExample(), secrets);
    expect(filled.stderr).toBe('');
    expect(Object.keys(filled.services).sort()).toEqual(
      [
        'api',
        'grafana',
        'mongo',
        'postgresql',
        'prometheus',
        'temporal',
        'temporal-schema',
        'temporal-setup',
        'temporal-ui',
        'worker',
      ].sort(),
    );
  });

  it("passes every variable of the README's configuration table to the role that reads it", () => {
    const inReadme = readmeVariables();
    expect(inReadme.length).toBeGreaterThan(20);
    // Every variable has a decision in WIRING, and WIRING names nothing the README does not.
    expect([...inReadme].sort()).toEqual(Object.keys(WIRING).sort());

    // A distinct value for every pass-through variable: each must arrive under its own name.
    const wiring: Record<string, { api: Wiring; worker: Wiring }> = {
      ...WIRING,
      ...Object.fromEntries(PEM_DATA.map((n) => [n, both])),
    };
    const passThrough = Object.keys(wiring).filter(
      (n) => wiring[n]!.api === 'env' || wiring[n]!.worker === 'env',
    );
    const marked = path.join(dir, 'marked.env');
    writeFileSync(marked, `${passThrough.map((n) => `${n}=value-of-${n}`).join('\n')}\n`);
    const { services, stderr } = load(envExample(), secrets, marked);
    expect(stderr).toBe('');
    for (const [name, roles] of Object.entries(wiring)) {
      for (const role of ['api', 'worker'] as const) {
        const env = services[role]?.environment ?? {};
        const where = `${role} ${name}`;
        if (roles[role] === 'env') expect(env[name], where).toBe(`value-of-${name}`);
        else if (roles[role] === 'fixed') expect(env[name], where).toBe(FIXED[name]);
        else expect(env, where).not.toHaveProperty(name);
      }
    }
  });

  it('deploy/env.example lists every pass-through variable and nothing compose ignores', () => {
    const example = envFile(read('deploy/env.example'));
    const raw = read('docker-compose.yml');
    for (const [name, roles] of Object.entries(WIRING)) {
      if (roles.api === 'env' || roles.worker === 'env') expect(example.has(name), name).toBe(true);
    }
    for (const name of [...PEM_DATA, ...STACK_VARS]) expect(example.has(name), name).toBe(true);
    for (const name of example.keys()) {
      const known = WIRING[name] !== undefined || PEM_DATA.includes(name) || STACK_VARS.includes(name);
      expect(known, `${name} in deploy/env.example`).toBe(true);
      // Set in .env, read by compose: a variable the file never interpolates would do nothing.
      expect(raw, `${name} used by docker-compose.yml`).toMatch(new RegExp(`\\$\\{${name}[:}]`));
    }
  });

  it('with deploy/env.example, api and worker get a configuration src/config.ts accepts', () => {
    const { services } = load(envExample(), secrets);
    for (const role of ['api', 'worker'] as const) {
      const env = Object.fromEntries(
        Object.entries(services[role]?.environment ?? {}).map(([k, v]) => [k, v ?? undefined]),
      );
      const config = loadConfig(env);
      expect(config.localMode, role).toBe(false);
      // The bundled services: Temporal in plaintext, MongoDB with the root user of .env.
      expect(config.temporal.connection, role).toMatchObject({ address: 'temporal:7233', apiKey: undefined });
      expect(config.temporal.connection.tls, role).toBeFalsy();
      expect(config.mongo.uri, role).toBe(
        'mongodb://cronofy_sync:0123456789abcdef0123456789abcdef@mongo:27017/?authSource=admin',
      );
      expect(config.http.publicUrl, role).toMatch(/^https:\/\//);
    }
  });

  it('runs the Temporal server and Web UI versions the test suite runs', () => {
    // The dev server of scripts/install-servers.sh says which server and UI it embeds.
    const version = execFileSync(temporalCliPath(), ['--version'], { encoding: 'utf8' });
    const m = version.match(/Server (\d+\.\d+\.\d+), UI (\d+\.\d+\.\d+)/);
    expect(m, version).not.toBeNull();
    const [, server, ui] = m!;
    const { services } = load(envExample(), secrets);
    expect(services.temporal?.image).toBe(`temporalio/server:${server}`);
    expect(services['temporal-schema']?.image).toBe(`temporalio/admin-tools:${server}`);
    expect(services['temporal-setup']?.image).toBe(`temporalio/admin-tools:${server}`);
    expect(services['temporal-ui']?.image).toBe(`temporalio/ui:${ui}`);
  });

  it('runs Temporal on production settings and Prometheus with the alert rules', () => {
    const { services } = load(envExample(), secrets);
    const temporalEnv = services.temporal?.environment ?? {};
    const dynamicConfig = temporalEnv.DYNAMIC_CONFIG_FILE_PATH ?? '';
    const mount = services.temporal?.volumes?.find((v) => dynamicConfig.startsWith(`${v.target}/`));
    expect(mount?.source, 'dynamic config mounted').toBe(path.join(root, 'deploy/temporal/dynamicconfig'));
    const settings = YAML.parse(
      read(path.join('deploy/temporal/dynamicconfig', path.relative(mount!.target, dynamicConfig))),
    ) as Record<string, unknown>;
    expect(Object.keys(settings).sort()).toEqual([
      'frontend.enableUpdateWorkflowExecution',
      'limit.maxIDLength',
    ]);
    // Settings of the old docker templates that the 1.32 server's embedded template ignores.
    for (const stale of ['ENABLE_ADVANCED_VISIBILITY', 'VISIBILITY_STORE', 'POSTGRES_VISIBILITY_SEEDS']) {
      expect(temporalEnv, stale).not.toHaveProperty(stale);
    }
    expect(temporalEnv.DB).toBe('postgres12');

    const prom = YAML.parse(read('deploy/prometheus.yml')) as { rule_files?: string[] };
    const volumes = services.prometheus?.volumes ?? [];
    const rules = (prom.rule_files ?? []).map((f) =>
      volumes.find((v) => v.target === path.posix.join('/etc/prometheus', f)),
    );
    expect(rules.map((v) => v?.source)).toEqual([path.join(root, 'deploy/prometheus-alerts.yml')]);
    expect(services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('grafana-password');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)/gim)].map((m) => m[2]);

  it('builds in one stage and runs production dependencies only in another', () => {
    expect(stages).toEqual(['build', 'runtime']);
    const [build, runtime] = dockerfile.split(/^FROM\s+\S+\s+AS\s+runtime/im) as [string, string];
    expect(build).toMatch(/npm run build/);
    expect(runtime).toMatch(/npm (ci|install) --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(runtime).not.toMatch(/COPY src/);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m);
  });

  it('runs as a non-root user, node dist/main.js <role>', () => {
    const user = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["all"\]$/m);
  });

  it('has a HEALTHCHECK that runs the compiled probe', () => {
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["node", "dist\/healthcheck\.js"\]$/m);
  });

  it('builds dist/ with tsconfig.build.json, which compiles src/ only', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    // TypeScript, then the workflow bundle the compiled worker loads (src/bundle-workflows.ts).
    expect(pkg.scripts.build).toMatch(/tsc -p tsconfig\.build\.json && .*node dist\/bundle-workflows\.js$/);
    // The image copies what the npm scripts run through.
    expect(dockerfile).toMatch(/^COPY scripts\/with-node\.sh /m);
    expect(read('.dockerignore').split('\n')).toContain('!scripts/with-node.sh');
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as {
      include: string[];
      compilerOptions: { outDir: string; rootDir: string };
    };
    expect(tsconfig.include).toEqual(['src']);
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: 'src' });
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', 'dist', '.data', '.env']) expect(ignored).toContain(entry);
  });
});

describe('observability files', () => {
  const metricNames = async () => {
    const names = new Set<string>();
    for (const m of await createMetrics().registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    }
    return names;
  };

  it('the Grafana dashboard queries only metrics that exist, and shows all of ours', async () => {
    const dashboard = JSON.parse(read('deploy/grafana/cronofy-sync.json')) as {
      uid: string;
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toBe('cronofy-sync');
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => e.match(/\bcronofy_[a-z_]+/g) ?? []));
    const known = await metricNames();
    for (const name of used) expect(known, name).toContain(name);
    for (const m of await createMetrics().registry.getMetricsAsJSON()) {
      expect(
        [...used].some((u) => u.startsWith(m.name)),
        `${m.name} on the dashboard`,
      ).toBe(true);
    }
    // The Temporal SDK's panels on its seconds-based names (src/runtime.ts, sdkPrometheusOptions).
    const sdk = new Set(exprs.flatMap((e) => e.match(/\btemporal_[a-z_]+/g) ?? []));
    expect([...sdk].sort()).toEqual(
      [
        'temporal_activity_schedule_to_start_latency_seconds_bucket',
        'temporal_request_failure_total',
        'temporal_sticky_cache_size',
        'temporal_worker_task_slots_available',
        'temporal_workflow_task_execution_latency_seconds_bucket',
        'temporal_workflow_task_schedule_to_start_latency_seconds_bucket',
      ].sort(),
    );
    expect(exprs.join('\n')).toContain('max by (state) (cronofy_accounts');
  });

  it('the alert rules parse with Prometheus\'s rule parser and cover docs/operations.md "Alerts"', async () => {
    const res = spawnSync(deployCheck(), ['rules', path.join(root, 'deploy/prometheus-alerts.yml')], {
      encoding: 'utf8',
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const rules = JSON.parse(res.stdout) as Array<{
      alert?: string;
      expr: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      metrics: string[];
    }>;
    expect(rules.length).toBeGreaterThanOrEqual(8);
    const known = await metricNames();
    for (const rule of rules) {
      expect(rule.alert, rule.expr).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(rule.metrics.length, rule.alert).toBeGreaterThan(0);
      // Our metrics as the service exports them; `up` is Prometheus's own, per scrape target.
      for (const name of rule.metrics) {
        if (name !== 'up') expect(known, `${rule.alert}: ${name}`).toContain(name);
      }
    }
    // Every metric the runbook's alert list names has a rule.
    const docs = read('docs/operations.md');
    const from = docs.indexOf('\n## Alerts');
    const section = docs.slice(
      from,
      docs.indexOf('\n## ', from + 1) === -1 ? undefined : docs.indexOf('\n## ', from + 1),
    );
    const listed = new Set(section.match(/\bcronofy_[a-z_]+/g) ?? []);
    expect(listed.size).toBeGreaterThanOrEqual(6);
    const used = new Set(rules.flatMap((r) => r.metrics.map((m) => m.replace(/_(bucket|sum|count)$/, ''))));
    for (const name of listed) expect(used, `an alert on ${name}`).toContain(name);
  });

  it('the rule parser refuses a broken rule (the check above can fail)', () => {
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'rules-')), 'bad.yml');
    writeFileSync(
      bad,
      'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n',
    );
    const res = spawnSync(deployCheck(), ['rules', bad], { encoding: 'utf8' });
    rmSync(path.dirname(bad), { recursive: true, force: true });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/unclosed left parenthesis/);
  });

  it('Prometheus scrapes the api, the worker and the Temporal SDK endpoint', () => {
    const prom = YAML.parse(read('deploy/prometheus.yml')) as {
      scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const targets = prom.scrape_configs.flatMap((c) =>
      (c.dns_sd_configs ?? []).map((d) => `${d.names.join(',')}:${d.port}`),
    );
    // The api's metrics are on its internal listener, off the public port.
    expect(targets).toEqual(expect.arrayContaining(['api:9092', 'worker:9091', 'worker:9464']));
    expect(targets).not.toContain('api:3000');
    expect(services.api?.environment).toMatchObject({ INTERNAL_PORT: '9092' });
    // The job names the CronofySyncTargetDown alert selects.
    expect(prom.scrape_configs.map((c) => c.job_name)).toEqual(
      expect.arrayContaining(['cronofy-sync-api', 'cronofy-sync-worker', 'temporal-sdk']),
    );
    expect(services.worker?.environment).toMatchObject({
      TEMPORAL_METRICS_PORT: '9464',
      METRICS_PORT: '9091',
    });
  });
});
