// The worker's workflow bundle entry point: every workflow the worker runs.
export { accountSync } from './account-sync.js';
export { webhookDelivery } from './webhook-delivery.js';
