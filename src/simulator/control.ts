/**
 * The simulator's JSON control API under `/_sim/`, so `npm run dev` and other processes can drive
 * it like tests drive the class. Unauthenticated: the simulator listens on 127.0.0.1 by default.
 *
 *   GET    /_sim/health                                  → { ok, url }
 *   POST   /_sim/accounts              { accountId?, calendarIds? }  → 201 SimAccount
 *   GET    /_sim/accounts/:id/events[?include_deleted=true]          → { events }
 *   POST   /_sim/accounts/:id/events   event (+ notify?: false)      → 201 { event }
 *   DELETE /_sim/accounts/:id/events/:eventUid                       → { event }
 *   GET    /_sim/accounts/:id/channels                               → { channels }
 *   DELETE /_sim/accounts/:id/channels/:channelId  (silent close)    → 204
 *   POST   /_sim/accounts/:id/notifications  { type, ...extra }      → 202 { notificationIds }
 *   POST   /_sim/accounts/:id/expire-tokens                          → 204
 *   POST   /_sim/accounts/:id/revoke                                 → 204
 *   POST   /_sim/accounts/:id/authorization-codes { redirectUri? }   → 201 { code }
 *   POST   /_sim/faults  { method?, path? | pathPattern?, status?, retryAfter?, delayMs?, drop?, body?, times } → 201 { id }
 *   DELETE /_sim/faults                                              → 204
 *   GET    /_sim/requests                                            → { requests }
 *   GET    /_sim/deliveries                                          → { deliveries }
 *   GET    /_sim/closed-channels                                     → { closedChannels }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyError, readParams, sendJson } from './http.js';
import { type SimEventInput, SimulatorInputError } from './state.js';
import type { SimFault, SimulatorControls } from './types.js';

export async function handleControl(
  sim: SimulatorControls,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  try {
    const answer = await route(sim, method, parts, url, req);
    sendJson(res, answer.status, answer.body);
  } catch (err) {
    if (err instanceof SimulatorInputError)
      sendJson(res, err.kind === 'not_found' ? 404 : 400, { error: err.message });
    else if (err instanceof BodyError) sendJson(res, err.status, { error: err.code });
    else throw err;
  }
}

interface Answer {
  status: number;
  body?: unknown;
}

async function route(
  sim: SimulatorControls,
  method: string,
  parts: string[],
  url: URL,
  req: IncomingMessage,
): Promise<Answer> {
  const [head, accountId, sub, subId] = parts;
  if (head === 'health' && method === 'GET') return { status: 200, body: { ok: true, url: sim.url } };
  if (head === 'requests' && method === 'GET') return { status: 200, body: { requests: sim.requests } };
  if (head === 'deliveries' && method === 'GET') return { status: 200, body: { deliveries: sim.deliveries } };
  if (head === 'closed-channels' && method === 'GET') {
    return { status: 200, body: { closedChannels: sim.closedChannels } };
  }
  if (head === 'faults' && parts.length === 1) {
    if (method === 'DELETE') {
      sim.clearFaults();
      return { status: 204 };
    }
    if (method === 'POST')
      return { status: 201, body: { id: sim.injectFault(toFault(await readParams(req))).id } };
  }
  if (head !== 'accounts') return { status: 404, body: { error: 'not_found' } };

  if (accountId === undefined) {
    if (method !== 'POST') return { status: 404, body: { error: 'not_found' } };
    const body = await readParams(req);
    return {
      status: 201,
      body: sim.createAccount({
        accountId: optionalString(body['accountId'], 'accountId'),
        calendarIds: optionalStrings(body['calendarIds'], 'calendarIds'),
      }),
    };
  }

  if (sub === 'events' && subId === undefined && method === 'GET') {
    const includeDeleted = url.searchParams.get('include_deleted') === 'true';
    return { status: 200, body: { events: sim.truth(accountId, { includeDeleted }) } };
  }
  if (sub === 'events' && subId === undefined && method === 'POST') {
    const { notify, ...event } = await readParams(req);
    return {
      status: 201,
      body: { event: sim.upsertEvent(accountId, event as SimEventInput, { notify: notify !== false }) },
    };
  }
  if (sub === 'events' && subId !== undefined && method === 'DELETE') {
    return { status: 200, body: { event: sim.deleteEvent(accountId, subId) } };
  }
  if (sub === 'channels' && subId === undefined && method === 'GET') {
    return { status: 200, body: { channels: sim.channels(accountId) } };
  }
  if (sub === 'channels' && subId !== undefined && method === 'DELETE') {
    if (!sim.closeChannelSilently(accountId, subId))
      throw new SimulatorInputError('unknown channel', 'not_found');
    return { status: 204 };
  }
  if (sub === 'notifications' && method === 'POST') {
    const { type, ...extra } = await readParams(req);
    if (typeof type !== 'string' || type === '') throw new SimulatorInputError('type is required');
    return { status: 202, body: { notificationIds: sim.pushNotification(accountId, type, extra) } };
  }
  if (sub === 'expire-tokens' && method === 'POST') {
    sim.expireAccessTokens(accountId);
    return { status: 204 };
  }
  if (sub === 'revoke' && method === 'POST') {
    sim.revoke(accountId);
    return { status: 204 };
  }
  if (sub === 'authorization-codes' && method === 'POST') {
    const body = await readParams(req);
    const code = sim.createAuthorizationCode(accountId, {
      redirectUri: optionalString(body['redirectUri'], 'redirectUri'),
    });
    return { status: 201, body: { code } };
  }
  return { status: 404, body: { error: 'not_found' } };
}

function toFault(body: Record<string, unknown>): SimFault {
  const { path, pathPattern, method, status, retryAfter, delayMs, drop, times } = body;
  let matcher: string | RegExp;
  if (typeof pathPattern === 'string' && pathPattern !== '') {
    try {
      matcher = new RegExp(pathPattern);
    } catch {
      throw new SimulatorInputError('pathPattern is not a valid regular expression');
    }
  } else if (typeof path === 'string' && path.startsWith('/')) {
    matcher = path;
  } else {
    throw new SimulatorInputError('path or pathPattern is required');
  }
  if (typeof times !== 'number' || !(times > 0))
    throw new SimulatorInputError('times must be a positive number');
  return {
    path: matcher,
    method: optionalString(method, 'method'),
    status: optionalNumber(status, 'status'),
    retryAfter: optionalString(retryAfter, 'retryAfter'),
    delayMs: optionalNumber(delayMs, 'delayMs'),
    drop: drop === true,
    body: body['body'],
    times,
  };
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SimulatorInputError(`${name} must be a string`);
  return value;
}

function optionalNumber(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new SimulatorInputError(`${name} must be a number`);
  return value;
}

function optionalStrings(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new SimulatorInputError(`${name} must be an array of strings`);
  }
  return value as string[];
}
