/** Structured pino logs. Credentials are redacted whatever a log line happens to include. */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["cronofy-hmac-sha256"]',
  'accessToken',
  'refreshToken',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
];

/** `destination` defaults to stdout; tests pass a stream to read what would have been logged. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
export type { Logger };
