/**
 * Unordered bulk writes keyed by a unique index: a duplicate-key error there means another writer
 * stored the same document first (harmless for an upsert-style write); anything else is a failure.
 */
import type { MongoBulkWriteError, WriteError } from 'mongodb';

/** The duplicate-key write errors of a failed bulkWrite; rethrows any other failure. */
export function duplicateKeyErrorsOnly(err: unknown): WriteError[] {
  const e = err as MongoBulkWriteError;
  const writeErrors = e.writeErrors ? (Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors]) : [];
  if (writeErrors.length === 0 || writeErrors.some((we) => we.code !== 11000)) throw err;
  return writeErrors;
}
