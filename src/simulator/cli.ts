/**
 * Command-line options of the simulator (./main.ts). Flags win over the environment, which takes
 * the service's own names for the client credentials so both sides agree by default.
 *
 *   --host (CRONOFY_SIM_HOST, 127.0.0.1)        --port (CRONOFY_SIM_PORT, 0 = any free port)
 *   --public-url (CRONOFY_SIM_PUBLIC_URL)       --page-size (CRONOFY_SIM_PAGE_SIZE, 50)
 *   --client-id (CRONOFY_CLIENT_ID)             --client-secret, repeatable (CRONOFY_CLIENT_SECRET, comma-separated)
 *   --no-rate-limit (CRONOFY_SIM_RATE_LIMIT=0)  --no-control (serve no /_sim/ API)
 */
import { parseArgs } from 'node:util';
import type { CronofySimulatorOptions } from './types.js';

export const DEFAULT_SIM_CLIENT_ID = 'cronofy-sim-client';
export const DEFAULT_SIM_CLIENT_SECRET = 'CRN_cronofy_simulator_local_secret';

export class SimulatorUsageError extends Error {
  override readonly name = 'SimulatorUsageError';
}

export function parseSimulatorArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): Omit<CronofySimulatorOptions, 'logger' | 'now'> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'public-url': { type: 'string' },
      'page-size': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string', multiple: true },
      'no-rate-limit': { type: 'boolean' },
      'no-control': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const envSecrets = (env['CRONOFY_CLIENT_SECRET'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const secrets = values['client-secret']?.length ? values['client-secret'] : envSecrets;
  const rateLimitOff =
    values['no-rate-limit'] === true || ['0', 'false', 'off'].includes(env['CRONOFY_SIM_RATE_LIMIT'] ?? '');
  return {
    host: values.host ?? env['CRONOFY_SIM_HOST'] ?? '127.0.0.1',
    port: integer(values.port ?? env['CRONOFY_SIM_PORT'] ?? '0', 'port', 0, 65535),
    publicUrl: values['public-url'] ?? env['CRONOFY_SIM_PUBLIC_URL'],
    pageSize: integer(values['page-size'] ?? env['CRONOFY_SIM_PAGE_SIZE'] ?? '50', 'page-size', 1, 10_000),
    clientId: values['client-id'] ?? env['CRONOFY_CLIENT_ID'] ?? DEFAULT_SIM_CLIENT_ID,
    clientSecrets: secrets.length > 0 ? secrets : [DEFAULT_SIM_CLIENT_SECRET],
    rateLimit: rateLimitOff ? false : undefined,
    control: values['no-control'] !== true,
  };
}

function integer(raw: string, name: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new SimulatorUsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}
