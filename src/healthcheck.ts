/**
 * Container health probe, the image's HEALTHCHECK: `node dist/healthcheck.js [all|api|worker]`.
 * Exit 0 = healthy, 1 = unhealthy.
 *
 * The role defaults to the one the container's main process runs (PID 1 is `node dist/main.js
 * <role>`, the image's entry point), so one HEALTHCHECK serves both roles:
 *  - api, all: `GET /healthz` on the API's port (PORT, 3000);
 *  - worker: `GET /healthz` on METRICS_PORT (the image sets 9091), else the Temporal SDK's
 *    `/metrics` on TEMPORAL_METRICS_PORT (it answers once the worker has started); a worker with
 *    neither has nothing to probe and counts as healthy while it runs.
 * Ports come from the same configuration the service reads (src/config.ts).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from './config.js';

const ROLES = ['all', 'api', 'worker'] as const;
type Role = (typeof ROLES)[number];

function isRole(s: string | undefined): s is Role {
  return (ROLES as readonly string[]).includes(s ?? '');
}

/** The role argument of `node …/main.js <role>` in PID 1's command line; `all` when unknown. */
function containerRole(): Role {
  try {
    const args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    const main = args.findIndex((a) => /(^|\/)main\.js$/.test(a));
    if (main >= 0) return isRole(args[main + 1]) ? (args[main + 1] as Role) : 'all';
  } catch {
    // not Linux, or no access: assume the default role
  }
  return 'all';
}

async function probe(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

const loopback = (host: string) => (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host);

const arg = process.argv[2];
if (arg !== undefined && !isRole(arg)) {
  console.error(`usage: healthcheck.js [all|api|worker] (got "${arg}")`);
  process.exit(2);
}
const role = arg ?? containerRole();
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  console.error(
    `unhealthy: invalid configuration: ${err instanceof ConfigError ? err.message : String(err)}`,
  );
  process.exit(1);
}

let url: string | undefined;
if (role === 'api' || role === 'all') {
  const host = loopback(config.http.host);
  url = `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}/healthz`;
} else if (config.metricsPort !== undefined) {
  url = `http://127.0.0.1:${config.metricsPort}/healthz`;
} else if (config.temporal.metricsPort !== undefined) {
  url = `http://127.0.0.1:${config.temporal.metricsPort}/metrics`;
}
if (url === undefined) {
  console.log(`healthy (${role}: no endpoint to probe; set METRICS_PORT)`);
  process.exit(0);
}
const ok = await probe(url);
console.log(`${ok ? 'healthy' : 'unhealthy'} (${role}: ${url})`);
process.exit(ok ? 0 : 1);
