/**
 * The deployment files, kept correct by reading them (Docker does not run here): docker-compose.yml,
 * the Dockerfile, the Prometheus scrape config and the Grafana dashboard.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { SEARCH_ATTRIBUTES } from '../../scripts/lib/servers.js';
import { createMetrics } from '../../src/metrics.js';

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

/** Every variable of the README's configuration table, and which role reads it. */
const CONTRACT_VARS: Record<string, { api: boolean; worker: boolean }> = {
  CRONOFY_CLIENT_ID: { api: true, worker: true }, // required by the config of either role
  CRONOFY_CLIENT_SECRET: { api: true, worker: true }, // api: verifies pushes; worker: refreshes tokens
  CRONOFY_DATA_CENTER: { api: true, worker: true },
  CRONOFY_API_URL: { api: true, worker: true },
  PUBLIC_URL: { api: true, worker: true }, // api: new accounts' callback URLs; worker: running ones
  HOST: { api: true, worker: false },
  PORT: { api: true, worker: false },
  ADMIN_TOKEN: { api: true, worker: false },
  TOKEN_ENCRYPTION_KEY: { api: true, worker: true }, // api: stores tokens; worker: reads them
  TEMPORAL_ADDRESS: { api: true, worker: true },
  TEMPORAL_NAMESPACE: { api: true, worker: true },
  TEMPORAL_TASK_QUEUE: { api: true, worker: true },
  MONGODB_URI: { api: true, worker: true },
  MONGODB_DB: { api: true, worker: true },
};
const SECRETS = [
  'CRONOFY_CLIENT_ID',
  'CRONOFY_CLIENT_SECRET',
  'TOKEN_ENCRYPTION_KEY',
  'ADMIN_TOKEN',
  'PUBLIC_URL',
];

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

  it('wires every contract variable to the roles that read it, secrets from .env', () => {
    for (const [name, roles] of Object.entries(CONTRACT_VARS)) {
      for (const role of ours) {
        const env = services[role]?.environment ?? {};
        if (roles[role]) expect(env, `${role} ${name}`).toHaveProperty(name);
        else expect(env, `${role} ${name}`).not.toHaveProperty(name);
      }
    }
    for (const name of SECRETS) {
      for (const role of ours) {
        const value = services[role]?.environment?.[name];
        if (value === undefined) continue;
        // `${VAR:?message}`: compose refuses to start when it is missing; never a literal secret.
        expect(String(value), `${role} ${name}`).toMatch(new RegExp(`^\\$\\{${name}:\\?.+\\}$`));
      }
    }
    expect(services.api?.environment).toMatchObject({
      HOST: '0.0.0.0',
      PORT: '3000',
      TEMPORAL_ADDRESS: 'temporal:7233',
    });
    expect(services.worker?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(String(services.api?.environment?.MONGODB_URI)).toContain('mongodb://mongo:27017');
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
    expect(exprs.join('\n')).toContain('temporal_workflow_task_schedule_to_start_latency_bucket');
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
    expect(services.worker?.environment).toMatchObject({
      TEMPORAL_METRICS_PORT: '9464',
      METRICS_PORT: '9091',
    });
  });
});
