/**
 * The simulator's JSON control API under `/_sim/`, so `npm run dev` and other processes can drive
 * it like tests drive the class. Unauthenticated: the simulator listens on 127.0.0.1 by default.
 *
 *   GET    /_sim/health                                  → { ok, url }
 *   POST   /_sim/accounts              { accountId?, calendarIds?, profiles? }  → 201 SimAccount
 *   GET    /_sim/accounts/:id/events[?include_deleted=true]          → { events }
 *   POST   /_sim/accounts/:id/events   event (+ notify?: false, withUpdated?: time) → 201 { event }
 *   DELETE /_sim/accounts/:id/events/:eventUid                       → { event }
 *   POST   /_sim/accounts/:id/events/:eventUid/undelete { updated?, notify? } → { event }
 *   POST   /_sim/accounts/:id/after-page { page, event, notify? }    → 201 (upserts event once page N was served)
 *   GET    /_sim/accounts/:id/profiles                               → { profiles }
 *   POST   /_sim/accounts/:id/profiles/:profileId/disconnect         → { profile }
 *   POST   /_sim/accounts/:id/profiles/:profileId/reconnect { initialSyncCompleted? } → { profile }
 *   PATCH  /_sim/accounts/:id/calendars/:calendarId { name?, deleted?, unlisted? } → { profile }
 *   PUT    /_sim/paging  { pageSize?, paging?: keyset|offset }       → 204
 *   GET    /_sim/accounts/:id/channels                               → { channels }
 *   DELETE /_sim/accounts/:id/channels/:channelId  (silent close)    → 204
 *   POST   /_sim/accounts/:id/notifications  { type, ...extra }      → 202 { notificationIds }
 *   POST   /_sim/accounts/:id/expire-tokens                          → 204
 *   POST   /_sim/accounts/:id/revoke                                 → 204
 *   POST   /_sim/accounts/:id/authorization-codes { redirectUri? }   → 201 { code }
 *   POST   /_sim/faults  { method?, path? | pathPattern?, status?, retryAfter?, delayMs?, drop?, endChain?, body?, times } → 201 { id }
 *   DELETE /_sim/faults                                              → 204
 *   GET    /_sim/requests                                            → { requests }
 *   GET    /_sim/deliveries                                          → { deliveries }
 *   GET    /_sim/closed-channels                                     → { closedChannels }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyError, readParams, sendJson } from './http.js';
import { type SimEventInput, type SimProfileInput, SimulatorInputError } from './state.js';
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
  const [head, accountId, sub, subId, action] = parts;
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
  if (head === 'paging' && parts.length === 1 && method === 'PUT') {
    const body = await readParams(req);
    const paging = optionalString(body['paging'], 'paging');
    sim.setPaging({
      pageSize: optionalNumber(body['pageSize'], 'pageSize'),
      paging: paging as 'keyset' | 'offset' | undefined,
    });
    return { status: 204 };
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
        profiles: optionalProfiles(body['profiles']),
      }),
    };
  }

  if (sub === 'events' && subId === undefined && method === 'GET') {
    const includeDeleted = url.searchParams.get('include_deleted') === 'true';
    return { status: 200, body: { events: sim.truth(accountId, { includeDeleted }) } };
  }
  if (sub === 'events' && subId === undefined && method === 'POST') {
    // `withUpdated`, not `updated`: an event read back from the simulator carries `updated`, and
    // posting it again must not silently rewind the stamp.
    const { notify, withUpdated, ...event } = await readParams(req);
    const updated = optionalString(withUpdated, 'withUpdated');
    return {
      status: 201,
      body: {
        event: sim.upsertEvent(accountId, event as SimEventInput, { notify: notify !== false, updated }),
      },
    };
  }
  if (sub === 'events' && subId !== undefined && action === 'undelete' && method === 'POST') {
    const body = await readParams(req);
    const updated = optionalString(body['updated'], 'updated');
    return {
      status: 200,
      body: { event: sim.undeleteEvent(accountId, subId, { notify: body['notify'] !== false, updated }) },
    };
  }
  if (sub === 'after-page' && subId === undefined && method === 'POST') {
    const { page, event, notify } = await readParams(req);
    if (typeof page !== 'number' || !Number.isInteger(page) || page < 1)
      throw new SimulatorInputError('page must be a positive integer');
    if (typeof event !== 'object' || event === null || Array.isArray(event))
      throw new SimulatorInputError('event is required');
    sim.profiles(accountId); // unknown account → 404 now, not a silent no-op later
    // A bad event throws after the page was answered: the simulator logs it as a failed request.
    sim.afterPage(accountId, page, () => {
      sim.upsertEvent(accountId, event as SimEventInput, { notify: notify !== false });
    });
    return { status: 201, body: {} };
  }
  if (sub === 'profiles' && subId === undefined && method === 'GET') {
    return { status: 200, body: { profiles: sim.profiles(accountId) } };
  }
  if (sub === 'profiles' && subId !== undefined && action === 'disconnect' && method === 'POST') {
    return { status: 200, body: { profile: sim.disconnectProfile(accountId, subId) } };
  }
  if (sub === 'profiles' && subId !== undefined && action === 'reconnect' && method === 'POST') {
    const body = await readParams(req);
    const profile = sim.reconnectProfile(accountId, subId, {
      initialSyncCompleted: body['initialSyncCompleted'] === true,
    });
    return { status: 200, body: { profile } };
  }
  if (sub === 'calendars' && subId !== undefined && action === undefined && method === 'PATCH') {
    const { name, deleted, unlisted } = await readParams(req);
    const flag = (v: unknown, field: string) => {
      if (v !== undefined && typeof v !== 'boolean')
        throw new SimulatorInputError(`${field} must be a boolean`);
      return v as boolean | undefined;
    };
    const change = {
      ...(name === undefined ? {} : { name: optionalString(name, 'name') }),
      ...(deleted === undefined ? {} : { deleted: flag(deleted, 'deleted') }),
      ...(unlisted === undefined ? {} : { unlisted: flag(unlisted, 'unlisted') }),
    };
    return { status: 200, body: { profile: sim.changeCalendar(accountId, subId, change) } };
  }
  if (sub === 'events' && subId !== undefined && action === undefined && method === 'DELETE') {
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
  const { path, pathPattern, method, status, retryAfter, delayMs, drop, endChain, times } = body;
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
    endChain: endChain === true,
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

function optionalProfiles(value: unknown): SimProfileInput[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new SimulatorInputError('profiles must be an array');
  return value.map((p: unknown) => {
    if (typeof p !== 'object' || p === null) throw new SimulatorInputError('a profile must be an object');
    const r = p as Record<string, unknown>;
    return {
      profileId: optionalString(r['profileId'], 'profileId'),
      profileName: optionalString(r['profileName'], 'profileName'),
      providerName: optionalString(r['providerName'], 'providerName'),
      providerService: optionalString(r['providerService'], 'providerService'),
      calendarIds: optionalStrings(r['calendarIds'], 'calendarIds') ?? [],
    };
  });
}

function optionalStrings(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new SimulatorInputError(`${name} must be an array of strings`);
  }
  return value as string[];
}
