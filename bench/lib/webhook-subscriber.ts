/**
 * A webhook subscriber for the benchmarks and the chaos run: a node:http server that verifies every
 * delivery with the `standardwebhooks` library (401 when it fails), answers 204 (or 503 while told
 * to fail), and keeps what it acknowledged: the deliveries with their arrival times, and a
 * DownstreamCopy of the events built from them alone.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { type ChangeJson, DownstreamCopy } from './downstream-copy.js';

export interface Delivery {
  accountId: string;
  changes: ChangeJson[];
  receivedAt: number;
}

/** `secret` is read per message: the webhook is created after the subscriber listens. */
export function startSubscriber(secret: () => string) {
  const stats = { messages: 0, acknowledged: 0, refused: 0, badSignatures: 0, redelivered: 0 };
  const delivered: Delivery[] = [];
  const seenIds = new Set<string>();
  const copy = new DownstreamCopy();
  let failing = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      stats.messages += 1;
      let msg: { type: string; accountId: string; changes?: ChangeJson[] };
      try {
        msg = new Webhook(secret()).verify(body, req.headers as Record<string, string>) as typeof msg;
      } catch {
        stats.badSignatures += 1;
        res.writeHead(401).end();
        return;
      }
      if (failing) {
        stats.refused += 1;
        res.writeHead(503).end();
        return;
      }
      const id = String(req.headers['webhook-id']);
      if (seenIds.has(id)) stats.redelivered += 1;
      seenIds.add(id);
      stats.acknowledged += 1;
      if (msg.type === 'events.changed' && msg.changes) {
        delivered.push({ accountId: msg.accountId, changes: msg.changes, receivedAt: Date.now() });
        copy.apply(msg.accountId, msg.changes);
      }
      res.writeHead(204).end();
    });
  });
  return {
    stats,
    delivered,
    copy,
    setFailing(v: boolean) {
      failing = v;
    },
    async listen(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export type Subscriber = ReturnType<typeof startSubscriber>;
