/**
 * A sample downstream service: a webhook receiver on node:http (loopback) that verifies every
 * delivery with the `standardwebhooks` library, as docs/webhooks.md describes, and prints one
 * readable line per change (`events.changed`) or account update (`account.updated`).
 *
 * `npm run dev` starts one and registers it with `POST /webhooks` (every account), so a change
 * made in the simulator can be followed to a downstream service. Standalone:
 *
 *   npx tsx scripts/lib/sample-webhook-receiver.ts --register        # register with the running
 *                                                                    # `npm run dev` (.data/dev)
 *   WEBHOOK_SECRET=whsec_... npx tsx scripts/lib/sample-webhook-receiver.ts --port 8080
 *
 * A request whose signature does not verify (or arrives before the secret is known) is answered
 * 401 (or 503) and printed as REFUSED; the service retries it.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';

const LOOPBACK = '127.0.0.1';
/** How long a delivery waits for the secret (registration answers after the first delivery may start). */
const SECRET_WAIT_MS = 10_000;

interface Change {
  seq: number;
  op: string;
  eventUid: string;
  calendarId?: string;
  event?: { summary?: string | null; start?: unknown; deleted?: boolean } | null;
}

interface Message {
  type?: string;
  accountId?: string;
  changes?: Change[];
  state?: string;
  reason?: string;
  profiles?: Array<{
    profileId: string;
    profileName?: string | null;
    connected: boolean;
    relinkUrl?: string | null;
  }>;
}

/** `start` as Cronofy gives it: a time or date string, or `{ time, tzid }`. */
function startOf(start: unknown): string {
  if (typeof start === 'string') return start;
  if (start && typeof start === 'object' && 'time' in start) return String((start as { time: unknown }).time);
  return '?';
}

/** The lines printed for one verified message: one per change, or one for an account update. */
export function describeWebhookMessage(msg: Message): string[] {
  const account = msg.accountId ?? '?';
  if (msg.type === 'events.changed') {
    return (msg.changes ?? []).map((c) => {
      const what =
        c.op === 'delete'
          ? `${c.eventUid}  (deleted)`
          : `${c.eventUid}  "${c.event?.summary ?? ''}"  ${startOf(c.event?.start)}`;
      return `[webhook] ${account} #${c.seq} ${c.op.padEnd(6)} ${what}${c.calendarId ? `  (${c.calendarId})` : ''}`;
    });
  }
  if (msg.type === 'account.updated') {
    const profiles = (msg.profiles ?? [])
      .map(
        (p) =>
          `${p.profileName ?? p.profileId} ${p.connected ? 'connected' : `disconnected (relink: ${p.relinkUrl ?? '-'})`}`,
      )
      .join(', ');
    return [
      `[webhook] ${account} account.updated state=${msg.state ?? '?'}${msg.reason ? ` reason="${msg.reason}"` : ''}${
        profiles ? `  profiles: ${profiles}` : ''
      }`,
    ];
  }
  return [`[webhook] ${account} ${msg.type ?? 'unknown message type'}`];
}

export interface SampleWebhookReceiverOptions {
  /** Default 0: a free port. */
  port?: number;
  host?: string;
  /** The webhook's `whsec_...`; or later with `setSecret` (after `POST /webhooks` answered). */
  secret?: string;
  /** Where lines go (default stdout). Replaceable later with `setLog`. */
  log?: (line: string) => void;
}

export interface SampleWebhookReceiver {
  /** `http://127.0.0.1:<port>/webhooks`: what to register. */
  url: string;
  setSecret(secret: string): void;
  /** Where lines go from now on. */
  setLog(log: (line: string) => void): void;
  /** Messages verified and acknowledged so far. */
  readonly verified: number;
  /** Requests refused (bad signature, no secret yet). */
  readonly refused: number;
  close(): Promise<void>;
}

export async function startSampleWebhookReceiver(
  opts: SampleWebhookReceiverOptions = {},
): Promise<SampleWebhookReceiver> {
  let log = opts.log ?? ((line: string) => console.log(line));
  let webhook: Webhook | undefined;
  let secretKnown: () => void = () => undefined;
  const secretReady = new Promise<void>((resolve) => {
    secretKnown = resolve;
  });
  const setSecret = (secret: string) => {
    webhook = new Webhook(secret);
    secretKnown();
  };
  if (opts.secret) setSecret(opts.secret);
  let verified = 0;
  let refused = 0;

  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      if (!webhook) {
        await Promise.race([secretReady, new Promise((r) => setTimeout(r, SECRET_WAIT_MS).unref())]);
      }
      if (!webhook) {
        refused++;
        log('[webhook] REFUSED a delivery: no secret yet (503; it is retried)');
        res.writeHead(503).end();
        return;
      }
      let msg: Message;
      try {
        msg = webhook.verify(body, req.headers as Record<string, string>) as Message;
      } catch (err) {
        refused++;
        log(`[webhook] REFUSED a delivery: ${err instanceof Error ? err.message : String(err)} (401)`);
        res.writeHead(401).end();
        return;
      }
      verified++;
      // Acknowledge first (quickly), then print.
      res.writeHead(204).end();
      for (const line of describeWebhookMessage(msg)) log(line);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? LOOPBACK, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${opts.host ?? LOOPBACK}:${port}/webhooks`,
    setSecret,
    setLog(next) {
      log = next;
    },
    get verified() {
      return verified;
    },
    get refused() {
      return refused;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Registers `url` for every account with a running service; returns the webhook's id and secret. */
export async function registerSampleWebhook(
  serviceUrl: string,
  adminToken: string,
  url: string,
  description = 'sample webhook receiver (scripts/lib/sample-webhook-receiver.ts)',
): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${serviceUrl}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, description }),
  });
  if (res.status !== 201) throw new Error(`POST /webhooks answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; secret: string };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      secret: { type: 'string' },
      register: { type: 'boolean' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'usage: npx tsx scripts/lib/sample-webhook-receiver.ts [--port N] [--secret whsec_... | --register [--data-dir .data/dev]]',
    );
    return;
  }
  const receiver = await startSampleWebhookReceiver({
    port: values.port === undefined ? 0 : Number(values.port),
    secret: values.secret ?? process.env.WEBHOOK_SECRET,
  });
  console.log(`Sample webhook receiver listening on ${receiver.url}`);
  let unregister: (() => Promise<void>) | undefined;
  if (values.register) {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
    const dataDir = path.resolve(values['data-dir'] ?? path.join(root, '.data', 'dev'));
    const stack = JSON.parse(readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as {
      service: { url: string };
    };
    const { adminToken } = JSON.parse(readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as {
      adminToken: string;
    };
    const { id, secret } = await registerSampleWebhook(stack.service.url, adminToken, receiver.url);
    receiver.setSecret(secret);
    console.log(`Registered as webhook ${id} (every account) with ${stack.service.url}; Ctrl-C deletes it.`);
    unregister = async () => {
      await fetch(`${stack.service.url}/webhooks/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${adminToken}` },
      }).catch(() => undefined);
    };
  } else if (!values.secret && !process.env.WEBHOOK_SECRET) {
    console.log('No secret (--secret or WEBHOOK_SECRET): every delivery is refused. Or use --register.');
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void (async () => {
        await unregister?.();
        await receiver.close();
        process.exit(0);
      })();
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
