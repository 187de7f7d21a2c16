/**
 * Helpers for the Cronofy tests: a push receiver (a real local HTTP server that records the exact
 * bytes and headers it gets), an in-memory AccountAuth backed by the client's refresh call, and a
 * simulator world (simulator, receiver, one account) stopped when the test ends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import type { AccountAuth, CronofyClient } from '../../src/cronofy/client.js';
import {
  type CreateAccountOptions,
  CronofySimulator,
  type CronofySimulatorOptions,
  type SimAccount,
} from '../../src/simulator/index.js';

export const CLIENT_ID = 'test-client';
export const SECRETS = ['CRN_current_secret_for_tests', 'CRN_previous_secret_for_tests'];

export interface ReceivedPush {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  json: {
    notification: { type: string; changes_since?: string };
    channel: { channel_id: string; callback_url: string; filters: Record<string, unknown> };
  };
}

export interface Receiver {
  url: string;
  received: ReceivedPush[];
  /** Status to answer with (default 200). */
  status: number;
  /** Delay before answering, ms (default 0). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    status: 200,
    delayMs: 0,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      receiver.received.push({ headers: req.headers, raw, json: JSON.parse(raw.toString('utf8')) });
      const answer = () => {
        if (!res.destroyed) res.writeHead(receiver.status).end();
      };
      if (receiver.delayMs > 0) setTimeout(answer, receiver.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cronofy/push`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}

/** Keeps one account's tokens in memory, like the store would, and counts refreshes. */
export class MemoryAuth implements AccountAuth {
  accessToken: string;
  refreshToken: string;
  refreshes = 0;

  constructor(
    private readonly client: CronofyClient,
    account: Pick<SimAccount, 'accessToken' | 'refreshToken'>,
  ) {
    this.accessToken = account.accessToken;
    this.refreshToken = account.refreshToken;
  }

  async getAccessToken(): Promise<string> {
    return this.accessToken;
  }

  async refresh(): Promise<string> {
    this.refreshes += 1;
    const token = await this.client.refreshToken(this.refreshToken);
    this.accessToken = token.access_token;
    this.refreshToken = token.refresh_token;
    return token.access_token;
  }
}

/** Collects every page of an async generator. */
export async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A simulator with a push receiver and one account, both stopped when the test finishes. */
export async function simWorld(
  opts: Partial<CronofySimulatorOptions> = {},
  account: CreateAccountOptions = { calendarIds: ['cal_work', 'cal_home'] },
) {
  const sim = await CronofySimulator.start({
    clientId: CLIENT_ID,
    clientSecrets: SECRETS,
    rateLimit: false,
    ...opts,
  });
  const receiver = await startReceiver();
  onTestFinished(async () => {
    await sim.stop();
    await receiver.close();
  });
  return { sim, receiver, account: sim.createAccount(account) };
}

/** A request to the simulator's Cronofy API as the account (`path` relative, or a full URL). */
export async function simApi(
  sim: CronofySimulator,
  account: SimAccount,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(path.startsWith('http') ? path : `${sim.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${account.accessToken}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
