/**
 * Opaque page cursors, shared by every paginated list: base64url JSON carrying a version, the
 * position, and a fingerprint of the filters it belongs to, so a cursor replayed against other
 * filters is refused instead of silently returning a meaningless page.
 */
import { createHash } from 'node:crypto';

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

/** A short, stable digest of a query's filters (not its page size). */
export function fingerprintOf(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
}

export function encodeCursorBody(position: Record<string, unknown>, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ v: 1, ...position, q: fingerprint }), 'utf8').toString('base64url');
}

/** The position fields of a cursor made by `encodeCursorBody` for the same filters; throws otherwise. */
export function decodeCursorBody(cursor: string, fingerprint: string): Record<string, unknown> {
  let body: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is malformed');
  }
  if (body === null || typeof body !== 'object' || (body as { v?: unknown }).v !== 1) {
    throw new InvalidCursorError('cursor is malformed');
  }
  const { v: _v, q, ...position } = body as Record<string, unknown>;
  if (q !== fingerprint) throw new InvalidCursorError('cursor belongs to a query with other filters');
  return position;
}
