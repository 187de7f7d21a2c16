/**
 * Schema pieces the admin and read API routes share: the `{ error, message }` body, the account id
 * path parameter, bearer security, and how their requests are validated. Each route plugin keeps
 * its own schemas next to it (./routes/); response schemas say `nullable` (OpenAPI 3.0) rather than
 * `type: [..., 'null']`.
 *
 * Schemas with an `$id` are the OpenAPI document's named components (./components.ts adds them to
 * the root app); responses point at them with `ref()`, so each appears once in the document and a
 * generated client gets one type for it. Requests keep inline schemas: the strict validators below
 * are plain Ajv instances that do not know the app's shared schemas.
 *
 * Request validation is stricter than Fastify's default (`useStrictValidation`): unknown body
 * fields are a 400 rather than silently dropped, and bodies are never type-coerced. It is set per
 * route plugin, so the receiver keeps Fastify's defaults.
 */
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { DATA_CENTERS } from '../cronofy/types.js';
import { ACCOUNT_ID_PATTERN } from '../domain.js';

const common = { allErrors: false, useDefaults: true, removeAdditional: false, strict: true } as const;
const bodyAjv = new Ajv({ ...common, coerceTypes: false });
// Query strings and path parameters are text: `limit=10`, `wait=true` are coerced to their types.
const textAjv = new Ajv({ ...common, coerceTypes: 'array' });
for (const ajv of [bodyAjv, textAjv]) ajv.addKeyword('example');

export const strictValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);

/** Like Fastify's message (`body/accountId must ...`), naming the offending field when it is extra. */
export function schemaErrorMessage(errs: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errs[0];
  if (!e) return new Error(`${dataVar} is invalid`);
  const extra = e.keyword === 'additionalProperties' ? `: \`${String(e.params['additionalProperty'])}\`` : '';
  return new Error(`${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}${extra}`);
}

/** Called first in each admin route plugin: its scope validates with the strict compilers above. */
export function useStrictValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(strictValidatorCompiler);
  app.setSchemaErrorFormatter(schemaErrorMessage);
}

export const BEARER = [{ bearer: [] }];

export const nullableString = { type: 'string', nullable: true } as const;
export const nullableTime = { type: 'string', format: 'date-time', nullable: true } as const;
export const openObject = { type: 'object', additionalProperties: true } as const;

/**
 * A named component in a response: `{ $ref, description }`. The description is the response's (an
 * OpenAPI response needs one); the serializer ignores it next to `$ref`.
 */
export const ref = (id: string, description: string) => ({ $ref: `${id}#`, description }) as const;

export const errorBody = {
  $id: 'Error',
  type: 'object',
  description: 'Every error answer: a stable code and a message',
  properties: {
    error: { type: 'string', description: 'Stable machine-readable code' },
    message: { type: 'string', description: 'For humans' },
  },
  required: ['error', 'message'],
  example: { error: 'account_not_found', message: 'account user-42 is not registered' },
} as const;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (`invalid_request`, `invalid_cursor`, `invalid_time`, `invalid_range`, `invalid_state`, `invalid_url`, `account_not_followed`, ...)',
  401: 'Missing or wrong `Authorization: Bearer <ADMIN_TOKEN>` (`unauthorized`)',
  404: 'No such account or webhook (`account_not_found`, `webhook_not_found`)',
  409: "Conflicts with the account's state (`account_closed`, `workflow_not_running`, `sync_rejected`, `deregistration_in_progress`, `identity_mismatch`)",
  410: "The cursor is older than the change feed's retention: start again from the beginning, without `after` (`cursor_expired`)",
  502: 'Cronofy failed (`sync_failed`, `cronofy_unavailable`)',
  503: 'Temporal or MongoDB unreachable, retry later (`temporal_unavailable`, `mongo_unavailable`), or OAuth not configured',
};

/** The `{ error, message }` body under each status, described for the OpenAPI document. */
export const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, ref('Error', ERROR_DESCRIPTIONS[c] ?? 'Error')]));

export const accountIdSchema = {
  type: 'string',
  pattern: ACCOUNT_ID_PATTERN,
  description: 'Your id for the Cronofy account (1-128 of `A-Za-z0-9_.:@+-`, not starting with `.`)',
  example: 'user-42',
} as const;

export const accountParams = {
  type: 'object',
  properties: { accountId: accountIdSchema },
  required: ['accountId'],
  additionalProperties: false,
} as const;

export type AccountParams = { accountId: string };

export const dataCenterSchema = {
  type: 'string',
  enum: [...DATA_CENTERS],
  description: 'Defaults to CRONOFY_DATA_CENTER',
} as const;
