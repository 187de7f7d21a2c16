/**
 * The admin API on `buildServer` with fakes for everything behind it: a recording
 * `AccountWorkflows`, in-memory repositories and a Cronofy client factory. No servers, no ports:
 * tests call `app.inject()` and look at what the fakes were asked to do.
 */
import type { FastifyInstance } from 'fastify';
import { type Mock, vi } from 'vitest';
import type { AdminDeps } from '../../src/api/routes/admin-deps.js';
import { buildServer } from '../../src/api/server.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { TokenResponse } from '../../src/cronofy/types.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { AccountsListParams, AccountsPage } from '../../src/store/accounts-query.js';
import type { AccountInfo, RegisterInput } from '../../src/store/accounts-repo.js';
import type { CalendarDoc } from '../../src/store/calendars-repo.js';
import type { FeedPage } from '../../src/store/change-feed.js';
import type { SyncRunDoc } from '../../src/store/db.js';
import type { SyncRunsSummary } from '../../src/store/sync-runs-repo.js';
import type { AccountStatus, SyncResult } from '../../src/workflows/messages.js';

export const ADMIN_TOKEN = 'unit-admin-token-of-at-least-32-chars';
export const CLIENT_SECRET = 'CRN_unit_secret';
export const PUBLIC_URL = 'https://sync.example.com';

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  const base: Record<string, string> = {
    CRONOFY_CLIENT_ID: 'unit-client',
    CRONOFY_CLIENT_SECRET: CLIENT_SECRET,
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
    ADMIN_TOKEN,
    PUBLIC_URL,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return loadConfig(base);
}

export function accountInfo(accountId: string, over: Partial<AccountInfo> = {}): AccountInfo {
  const at = new Date('2026-05-01T10:00:00Z');
  return {
    _id: accountId,
    accountId,
    dataCenter: 'us',
    calendarIds: null,
    accessTokenExpiresAt: null,
    tokenVersion: 1,
    channelId: null,
    state: 'active',
    createdAt: at,
    updatedAt: at,
    deregisteredAt: null,
    ...over,
  };
}

export const SYNC_RESULT: SyncResult = {
  kind: 'full',
  pages: 2,
  upserted: 3,
  deleted: 1,
  unchanged: 4,
  startedAt: '2026-05-01T10:00:00.000Z',
  finishedAt: '2026-05-01T10:00:02.000Z',
  watermark: '2026-05-01T09:59:00Z',
};

export function workflowStatus(accountId: string): AccountStatus {
  return {
    accountId,
    state: 'active',
    channel: { id: 'chn_1', lastNotificationAt: null, lastCheckedAt: null },
    lastSyncs: {},
    lastSuccessfulSyncAt: null,
    watermark: null,
    pending: {
      notifications: 0,
      earliestChangesSince: null,
      firstPendingAt: null,
      requested: [],
      syncDueAt: null,
    },
    running: null,
    nextFullSyncAt: null,
    nextWindowEdgeSyncAt: null,
    nextChannelCheckAt: null,
    failingSince: null,
    lastError: null,
    profileDisconnected: null,
  };
}

export const TOKENS: TokenResponse = {
  token_type: 'bearer',
  access_token: 'AT-from-cronofy',
  refresh_token: 'RT-from-cronofy',
  expires_in: 3600,
  scope: 'read_events',
};

export interface Fakes {
  app: FastifyInstance;
  config: Config;
  /** Registered accounts, by id: what `accounts.get` answers. */
  stored: Map<string, AccountInfo>;
  workflows: {
    notify: Mock<() => Promise<void>>;
    start: Mock<(accountId: string) => Promise<{ started: boolean }>>;
    status: Mock<(accountId: string) => Promise<AccountStatus>>;
    isRunning: Mock<(accountId: string) => Promise<boolean>>;
    requestSync: Mock<(accountId: string, mode: string) => Promise<void>>;
    syncNow: Mock<(accountId: string, mode: string) => Promise<SyncResult>>;
    tokensUpdated: Mock<(accountId: string) => Promise<void>>;
    deregister: Mock<(accountId: string, purge: boolean) => Promise<void>>;
  };
  accounts: {
    get: Mock<(accountId: string) => Promise<AccountInfo | null>>;
    register: Mock<(input: RegisterInput) => Promise<{ created: boolean; deregistering?: true }>>;
    replaceTokens: Mock<(accountId: string, tokens: object) => Promise<boolean>>;
    delete: Mock<(accountId: string) => Promise<boolean>>;
    tokens: Mock<(accountId: string) => Promise<{ accessToken: string; refreshToken: string } | null>>;
    markDeregistering: Mock<(accountId: string) => Promise<void>>;
    list: Mock<(p: AccountsListParams) => Promise<AccountsPage>>;
  };
  events: { deleteAccount: Mock<(accountId: string) => Promise<number>> };
  eventsReader: { list: Mock<(p: object) => Promise<{ events: never[]; nextCursor: string | null }>> };
  changes: { read: Mock<(accountId: string, after?: string, limit?: number) => Promise<FeedPage>> };
  /** `list` answers the account's documents of `storedCalendars`, deleted ones only when asked. */
  calendars: {
    list: Mock<(accountId: string, opts?: { includeDeleted?: boolean }) => Promise<CalendarDoc[]>>;
    deleteAccount: Mock<(accountId: string) => Promise<number>>;
  };
  storedCalendars: CalendarDoc[];
  syncRuns: {
    summary: Mock<(accountId: string) => Promise<SyncRunsSummary>>;
    deleteAccount: Mock<(accountId: string) => Promise<number>>;
    running: Mock<(accountId: string) => Promise<SyncRunDoc | null>>;
  };
  cronofy: Mock<
    (dataCenter: string) => {
      exchangeCode: Mock<(code: string, uri: string) => Promise<TokenResponse>>;
      revokeToken: Mock<(token: string) => Promise<void>>;
      userInfo: Mock<() => Promise<{ sub: string }>>;
    }
  >;
  exchangeCode: Mock<(code: string, uri: string) => Promise<TokenResponse>>;
  revokeToken: Mock<(token: string) => Promise<void>>;
  /** Used OAuth nonces, in memory like `OAuthNoncesRepo`. */
  oauthNonces: { use: Mock<(nonce: string, expiresAt: Date) => Promise<boolean>> };
  /** What `GET /v1/userinfo` answers: the Cronofy identity behind the exchanged tokens. */
  userInfo: Mock<() => Promise<{ sub: string }>>;
  /** Every fake's calls, for "nothing was done" checks. */
  calls(): number;
  close(): Promise<void>;
}

export async function fakeAdminApp(
  opts: { config?: Config; deps?: Partial<Pick<AdminDeps, 'syncWaitMs' | 'temporalTimeoutMs' | 'now'>> } = {},
): Promise<Fakes> {
  const config = opts.config ?? testConfig();
  const stored = new Map<string, AccountInfo>();
  const workflows: Fakes['workflows'] = {
    notify: vi.fn(async () => undefined),
    start: vi.fn(async () => ({ started: true })),
    status: vi.fn(async (id: string) => workflowStatus(id)),
    isRunning: vi.fn(async () => true),
    requestSync: vi.fn(async () => undefined),
    syncNow: vi.fn(async () => SYNC_RESULT),
    tokensUpdated: vi.fn(async () => undefined),
    deregister: vi.fn(async () => undefined),
  };
  const accounts: Fakes['accounts'] = {
    get: vi.fn(async (id: string) => stored.get(id) ?? null),
    register: vi.fn(async (input: RegisterInput) => {
      const created = !stored.has(input.accountId);
      stored.set(input.accountId, accountInfo(input.accountId, { dataCenter: input.dataCenter }));
      return { created };
    }),
    replaceTokens: vi.fn(async (id: string) => stored.has(id)),
    delete: vi.fn(async (id: string) => stored.delete(id)),
    tokens: vi.fn(async (id: string) =>
      stored.has(id) ? { accessToken: `AT-${id}`, refreshToken: `RT-${id}` } : null,
    ),
    markDeregistering: vi.fn(async () => undefined),
    list: vi.fn(async () => ({ accounts: [], nextCursor: null })),
  };
  const events: Fakes['events'] = { deleteAccount: vi.fn(async () => 7) };
  const eventsReader: Fakes['eventsReader'] = {
    list: vi.fn(async () => ({ events: [], nextCursor: null })),
  };
  const changes: Fakes['changes'] = {
    read: vi.fn(async (_accountId: string, after?: string) => ({
      changes: [],
      nextCursor: after ?? '0',
      hasMore: false,
    })),
  };
  const storedCalendars: CalendarDoc[] = [];
  const calendars: Fakes['calendars'] = {
    list: vi.fn(async (accountId: string, o?: { includeDeleted?: boolean }) =>
      storedCalendars.filter((c) => c.accountId === accountId && (o?.includeDeleted || !c.deleted)),
    ),
    deleteAccount: vi.fn(async () => 2),
  };
  const syncRuns: Fakes['syncRuns'] = {
    summary: vi.fn(async () => ({ lastSyncs: {}, lastSuccessAt: null, lastFailure: null })),
    deleteAccount: vi.fn(async () => 3),
    running: vi.fn(async () => null),
  };
  const exchangeCode: Fakes['exchangeCode'] = vi.fn(async () => TOKENS);
  const revokeToken: Fakes['revokeToken'] = vi.fn(async () => undefined);
  const userInfo: Fakes['userInfo'] = vi.fn(async () => ({ sub: 'sub_fake' }));
  const cronofy: Fakes['cronofy'] = vi.fn(() => ({ exchangeCode, revokeToken, userInfo }));
  const usedNonces = new Set<string>();
  const oauthNonces: Fakes['oauthNonces'] = {
    use: vi.fn(async (nonce: string) => !usedNonces.has(nonce) && Boolean(usedNonces.add(nonce))),
  };
  const app = await buildServer({
    config,
    metrics: createMetrics(),
    workflows,
    logger: createLogger('silent'),
    readiness: { temporal: async () => true, mongo: async () => true },
    admin: {
      config,
      workflows,
      accounts: accounts as unknown as AdminDeps['accounts'],
      events,
      eventsReader: eventsReader as unknown as AdminDeps['eventsReader'],
      changes,
      calendars,
      syncRuns,
      cronofy: cronofy as unknown as AdminDeps['cronofy'],
      oauthNonces,
      webhookApi: fakeWebhookApi(),
      ...opts.deps,
    },
  });
  const all = [
    ...Object.values(workflows),
    ...Object.values(accounts),
    events.deleteAccount,
    eventsReader.list,
    changes.read,
    calendars.list,
    calendars.deleteAccount,
    syncRuns.summary,
    syncRuns.deleteAccount,
    syncRuns.running,
    cronofy,
    exchangeCode,
    revokeToken,
    userInfo,
    oauthNonces.use,
  ];
  return {
    app,
    config,
    stored,
    workflows,
    accounts,
    events,
    eventsReader,
    changes,
    calendars,
    storedCalendars,
    syncRuns,
    cronofy,
    exchangeCode,
    revokeToken,
    userInfo,
    oauthNonces,
    calls: () => all.reduce((n, f) => n + f.mock.calls.length, 0),
    close: () => app.close(),
  };
}

type Json = Record<string, unknown>;

/** `app.inject` with the admin bearer unless `auth` says otherwise (`null`: no header). */
export async function call(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  opts: { body?: unknown; auth?: string | null } = {},
): Promise<{ status: number; body: Json; headers: Record<string, unknown> }> {
  const auth = opts.auth === undefined ? `Bearer ${ADMIN_TOKEN}` : opts.auth;
  const res = await app.inject({
    method,
    url,
    headers: auth === null ? {} : { authorization: auth },
    ...(opts.body === undefined ? {} : { payload: opts.body as object }),
  });
  return { status: res.statusCode, body: res.body ? (res.json() as Json) : {}, headers: res.headers };
}

/** The webhook routes' collaborators, empty: enough to serve (and document) the routes. */
export function fakeWebhookApi(): NonNullable<AdminDeps['webhookApi']> {
  return {
    webhooks: {
      create: vi.fn(async () => {
        throw new Error('not in the fakes');
      }),
      get: vi.fn(async () => null),
      list: vi.fn(async () => []),
      delete: vi.fn(async () => false),
      activate: vi.fn(async () => false),
    },
    cursors: {
      forWebhook: vi.fn(async () => []),
      replay: vi.fn(async () => undefined),
      deleteWebhook: vi.fn(async () => 0),
    },
    deliveries: { recent: vi.fn(async () => []), deleteWebhook: vi.fn(async () => 0) },
    workflows: {
      changed: vi.fn(async () => undefined),
      resume: vi.fn(async () => undefined),
      stop: vi.fn(async () => false),
    },
    liveAccountIds: vi.fn(async () => []),
  };
}
