/**
 * The served OpenAPI document is fit for generating clients: valid OpenAPI 3.0 by an independent
 * validator (@readme/openapi-parser, which also checks what the spec's JSON schema cannot, such as
 * unique operationIds), every operation named, every response described, each shared shape a named
 * component referenced everywhere rather than inlined again, and examples that match their schemas.
 */
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENT_SCHEMAS } from '../../src/api/components.js';
import { type Fakes, fakeAdminApp } from './fakes.js';

type Schema = Record<string, unknown>;
interface Operation {
  operationId?: string;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Schema }> }>;
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

let f: Fakes;
let doc: Doc;

beforeAll(async () => {
  f = await fakeAdminApp();
  const res = await f.app.inject({ method: 'GET', url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  doc = res.json() as Doc;
});
afterAll(() => f.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  );

/** Every schema object in `node`, with where it is; `$ref`s are not followed. */
function* schemasIn(node: unknown, where: string): Generator<{ where: string; schema: Schema }> {
  if (Array.isArray(node)) {
    for (const [i, v] of node.entries()) yield* schemasIn(v, `${where}/${i}`);
  } else if (node && typeof node === 'object') {
    const o = node as Schema;
    if (o['properties'] && typeof o['properties'] === 'object') yield { where, schema: o };
    for (const [k, v] of Object.entries(o)) if (k !== 'example') yield* schemasIn(v, `${where}/${k}`);
  }
}

const propertyKeys = (s: Schema) =>
  Object.keys(s['properties'] as object)
    .sort()
    .join(',');

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.0 by @readme/openapi-parser', async () => {
    // validate() dereferences its argument in place: give it a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it('names every operation, uniquely', () => {
    const ids = operations().map(({ name, op }) => {
      expect(op.operationId, name).toMatch(/^[a-z][A-Za-z]+$/);
      return op.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['listAccounts', 'getAccountStatus', 'receiveNotification']));
    expect(ids).toEqual(
      expect.arrayContaining([
        'createWebhook',
        'listWebhooks',
        'getWebhook',
        'deleteWebhook',
        'listWebhookDeliveries',
        'replayWebhook',
        'resumeWebhook',
      ]),
    );
  });

  it('describes every response (no "Default Response")', () => {
    for (const { name, op } of operations()) {
      for (const [code, res] of Object.entries(op.responses)) {
        expect(res.description, `${name} ${code}`).toMatch(/\w/);
        expect(res.description, `${name} ${code}`).not.toBe('Default Response');
      }
    }
  });

  it('lists the shared shapes as named components and refers to them', () => {
    const names = Object.keys(doc.components.schemas);
    expect(names).toEqual(
      expect.arrayContaining([
        'Error',
        'AccountStatus',
        'SyncProgress',
        'AccountSummary',
        'AccountsPage',
        'Event',
        'EventsPage',
        'SyncResult',
        'CronofyNotification',
        'Readiness',
        'Webhook',
        'WebhookDetail',
        'WebhookCreated',
        'WebhookDeliveries',
        'EventsChangedMessage',
        'AccountUpdatedMessage',
      ]),
    );
    const schemaOf = (path: string, method: string, code: string, type = 'application/json') =>
      doc.paths[path]?.[method]?.responses[code]?.content?.[type]?.schema;
    expect(schemaOf('/accounts/{accountId}', 'get', '200')).toEqual({
      $ref: '#/components/schemas/AccountStatus',
    });
    expect(schemaOf('/accounts/{accountId}', 'get', '404')).toEqual({ $ref: '#/components/schemas/Error' });
    expect(schemaOf('/webhooks', 'post', '201')).toEqual({ $ref: '#/components/schemas/WebhookCreated' });
    expect(schemaOf('/webhooks/{id}', 'get', '200')).toEqual({ $ref: '#/components/schemas/WebhookDetail' });
    expect(schemaOf('/webhooks/{id}/deliveries', 'get', '200')).toEqual({
      $ref: '#/components/schemas/WebhookDeliveries',
    });
    expect(schemaOf('/accounts', 'get', '200')).toEqual({ $ref: '#/components/schemas/AccountsPage' });
    expect(schemaOf('/readyz', 'get', '503')).toEqual({ $ref: '#/components/schemas/Readiness' });
    expect(schemaOf('/readyz/receiver', 'get', '503')).toEqual({
      $ref: '#/components/schemas/ReceiverReadiness',
    });
    expect(schemaOf('/healthz', 'get', '200')).toEqual({ $ref: '#/components/schemas/Health' });
    expect(schemaOf('/metrics', 'get', '200', 'text/plain')).toMatchObject({ type: 'string' });
    const notification = doc.paths['/cronofy/notifications/{accountId}']?.['post'];
    expect(notification?.requestBody?.content['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/CronofyNotification',
    });
  });

  it('has no inline copy of a named component anywhere', () => {
    const named = new Map(
      Object.entries(doc.components.schemas).map(([name, s]) => [propertyKeys(s), name] as const),
    );
    // The components' own roots are the definitions; everything below them and in the paths must
    // refer to a component rather than repeat its properties.
    const roots = new Set(Object.keys(doc.components.schemas).map((n) => `#/components/schemas/${n}`));
    const found: string[] = [];
    for (const { where, schema } of schemasIn(doc, '#')) {
      if (roots.has(where)) continue;
      const dup = named.get(propertyKeys(schema));
      if (dup) found.push(`${where} repeats ${dup}`);
    }
    expect(found).toEqual([]);
  });

  it('gives every component an example that its schema accepts', async () => {
    const resolved = (await dereference(structuredClone(doc) as never)) as unknown as Doc;
    // `nullable` is OpenAPI 3.0's (Ajv knows it); formats are not what this checks.
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    for (const [name, schema] of Object.entries(resolved.components.schemas)) {
      expect(schema['example'], name).toBeDefined();
      const check = ajv.compile(schema);
      expect(check(schema['example']) ? [] : check.errors, name).toEqual([]);
    }
  });

  it('serves each component from the app (nothing registered but not documented)', () => {
    expect(Object.keys(doc.components.schemas).sort()).toEqual(COMPONENT_SCHEMAS.map((s) => s.$id).sort());
  });
});
