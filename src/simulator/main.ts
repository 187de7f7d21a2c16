/**
 * Starts the Cronofy simulator and prints its base URL as the first line of stdout (logs go to
 * stderr), then serves until SIGINT/SIGTERM. Options: ./cli.ts.
 *   tsx src/simulator/main.ts --port 8181 --client-id my-app --client-secret CRN_x
 */
import pino from 'pino';
import { parseSimulatorArgs, SimulatorUsageError } from './cli.js';
import { CronofySimulator } from './simulator.js';

async function main(): Promise<void> {
  let options: ReturnType<typeof parseSimulatorArgs>;
  try {
    options = parseSimulatorArgs(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = pino(
    { name: 'cronofy-simulator', level: process.env['LOG_LEVEL'] ?? 'info' },
    pino.destination(2),
  );
  const sim = await CronofySimulator.start({ ...options, logger });
  process.stdout.write(`${sim.url}\n`);
  const shutdown = () => {
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof SimulatorUsageError ? err.message : String(err)}\n`);
  process.exit(1);
});
