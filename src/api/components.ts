/**
 * The OpenAPI document's named schemas (`components.schemas`), each defined next to the route that
 * answers with it and collected here. `addComponents` adds them to the root app before the routes
 * are registered: responses (and the receiver's documented body) refer to them by `$id`
 * (`ref()` in ./schemas.ts), the serializer resolves those references, and @fastify/swagger lists
 * each once under its `$id` (`swaggerRefResolver`) instead of inlining a copy per route.
 */
import { healthSchema, readinessSchema, receiverReadinessSchema } from './health.js';
import { notificationBodySchema } from './notification-schema.js';
import { notificationAcceptedSchema } from './receiver.js';
import { accountSummarySchema, accountsPageSchema } from './routes/accounts-list.js';
import {
  deregistrationSchema,
  registrationSchema,
  syncAcceptedSchema,
  syncResultSchema,
  tokensReplacedSchema,
} from './routes/accounts-schemas.js';
import { calendarSchema, calendarsPageSchema } from './routes/calendars.js';
import { changeSchema, changesPageSchema } from './routes/changes.js';
import { eventSchema, eventsPageSchema } from './routes/events.js';
import { linkSchema, oauthConnectedSchema } from './routes/oauth.js';
import {
  accountStatusSchema,
  lastSyncSchema,
  profileSchema,
  syncProgressSchema,
} from './routes/status-schemas.js';
import {
  accountUpdatedMessageSchema,
  eventsChangedMessageSchema,
  webhookCreatedSchema,
  webhookCursorSchema,
  webhookDeletedSchema,
  webhookDeliveriesSchema,
  webhookDeliverySchema,
  webhookDetailSchema,
  webhookReplayAcceptedSchema,
  webhookResumedSchema,
  webhookSchema,
  webhooksPageSchema,
} from './routes/webhooks-schemas.js';
import { errorBody } from './schemas.js';

export const COMPONENT_SCHEMAS: readonly { $id: string }[] = [
  errorBody,
  healthSchema,
  readinessSchema,
  receiverReadinessSchema,
  notificationBodySchema,
  notificationAcceptedSchema,
  registrationSchema,
  lastSyncSchema,
  syncProgressSchema,
  profileSchema,
  accountStatusSchema,
  syncResultSchema,
  syncAcceptedSchema,
  tokensReplacedSchema,
  deregistrationSchema,
  accountSummarySchema,
  accountsPageSchema,
  eventSchema,
  eventsPageSchema,
  calendarSchema,
  calendarsPageSchema,
  changeSchema,
  changesPageSchema,
  linkSchema,
  oauthConnectedSchema,
  webhookSchema,
  webhookCursorSchema,
  webhookDetailSchema,
  webhooksPageSchema,
  webhookCreatedSchema,
  webhookDeliverySchema,
  webhookDeliveriesSchema,
  webhookReplayAcceptedSchema,
  webhookResumedSchema,
  webhookDeletedSchema,
  eventsChangedMessageSchema,
  accountUpdatedMessageSchema,
];

export function addComponents(app: { addSchema(schema: unknown): unknown }): void {
  for (const schema of COMPONENT_SCHEMAS) app.addSchema(schema);
}

/** Named schemas keep their `$id` as their component name (the plugin's default is `def-N`). */
export const swaggerRefResolver = {
  buildLocalReference: (json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number) =>
    typeof json.$id === 'string' ? json.$id : `def-${i}`,
};
