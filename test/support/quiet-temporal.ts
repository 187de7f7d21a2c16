/**
 * Vitest setup file (runs in every test process): keeps the Temporal SDK's own log lines out of
 * test output unless asked for. TEST_TEMPORAL_LOG=INFO|WARN|DEBUG shows them.
 */
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';

const level = (process.env.TEST_TEMPORAL_LOG ?? 'ERROR') as LogLevel;
try {
  Runtime.install({ logger: new DefaultLogger(level) });
} catch {
  // already installed in this process
}
