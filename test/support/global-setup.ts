/**
 * Vitest global setup: starts ONE Temporal dev server and ONE MongoDB-protocol server for the
 * whole run (free loopback ports), hands their addresses to the tests with `provide` (read them
 * with the helpers in `./env.ts`), and serves a small loopback HTTP control channel through which
 * tests stop/start servers: the shared ones, or isolated ones created for a single test file.
 * Everything is stopped in teardown, also when setup fails halfway.
 *
 * Control channel (base URL provided as `serverControlUrl`; all answers are JSON):
 *   POST   /temporal                    new isolated dev server -> TemporalInfo
 *   POST   /mongo                       new isolated MongoDB-protocol server -> MongoInfo
 *   POST   /{temporal|mongo}/:id/stop   stop (data kept)  -> info
 *   POST   /{temporal|mongo}/:id/start  start again on the same address and data -> info
 *   POST   /{temporal|mongo}/:id/restart
 *   DELETE /{temporal|mongo}/:id        stop and forget an isolated server
 *   GET    /status                      every server's info
 * `:id` is `shared` for the run-wide servers.
 *
 * Environment: CRONOFY_SYNC_SERVER_LOGS=<dir> keeps the servers' output in that directory.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  findOnPath,
  installServers,
  LOOPBACK,
  type LogTarget,
  type MongoServer,
  startMongo,
  startTemporalDevServer,
  type TemporalDevServer,
  tempDir,
} from '../../scripts/lib/servers.js';
import type { MongoInfo, TemporalInfo } from './env.js';

type Entry =
  | { type: 'temporal'; id: string; server: TemporalDevServer }
  | { type: 'mongo'; id: string; server: MongoServer };

function info(entry: Entry): TemporalInfo | MongoInfo {
  if (entry.type === 'temporal') {
    const s = entry.server;
    return { id: entry.id, address: s.address, namespace: s.namespace, uiUrl: s.uiUrl, running: s.running };
  }
  const s = entry.server;
  return { id: entry.id, uri: s.uri, kind: s.kind, running: s.running };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const began = performance.now();
  await installServers();
  const tmp = tempDir('test'); // also removed at exit when the run is interrupted
  const logDir = process.env.CRONOFY_SYNC_SERVER_LOGS
    ? path.resolve(process.env.CRONOFY_SYNC_SERVER_LOGS)
    : undefined;
  const logFor = (name: string): LogTarget => (logDir ? path.join(logDir, `${name}.log`) : 'ignore');
  const servers = new Map<string, Entry>(); // key: `${type}/${id}`
  let control: http.Server | undefined;
  let isolatedCount = 0;
  let closing = false;
  const register = async (entry: Entry): Promise<Entry> => {
    if (closing) {
      await entry.server.stop(); // started while tearing down: do not leak it
      throw new Error('the test run is tearing down');
    }
    servers.set(`${entry.type}/${entry.id}`, entry);
    return entry;
  };

  const teardown = async () => {
    closing = true;
    const errors: unknown[] = [];
    if (control) {
      control.closeAllConnections();
      await new Promise<void>((resolve) => control?.close(() => resolve()));
    }
    await Promise.all(
      [...servers.values()].map((entry) => entry.server.stop().catch((err: unknown) => errors.push(err))),
    );
    servers.clear();
    rmSync(tmp, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, 'stopping the test servers failed');
  };

  const newTemporal = async (id: string) => {
    const server = await startTemporalDevServer({
      dbFile: path.join(tmp, `temporal-${id}.db`), // on disk: state survives stop/start
      log: logFor(`temporal-${id}`),
    });
    return register({ type: 'temporal', id, server });
  };
  const newMongo = async (id: string) => {
    // An external MONGODB_URI cannot be stopped: isolated servers are always ones we run ourselves.
    const kind = id === 'shared' ? 'auto' : findOnPath('mongod') ? 'mongod' : 'ferretdb';
    const server = await startMongo({
      kind,
      dataDir: path.join(tmp, `mongo-${id}`),
      log: logFor(`mongo-${id}`),
    });
    return register({ type: 'mongo', id, server });
  };

  const token = randomBytes(12).toString('hex');
  const handle = async (method: string, url: string): Promise<unknown> => {
    const parts = url.split('?')[0]!.split('/').filter(Boolean);
    if (parts.shift() !== token) throw new HttpError(404, 'not found');
    const [type, id, action] = parts;
    if (method === 'GET' && type === 'status' && parts.length === 1) return [...servers.values()].map(info);
    if (type !== 'temporal' && type !== 'mongo') throw new HttpError(404, `unknown route ${url}`);
    if (method === 'POST' && id === undefined) {
      const newId = `isolated${++isolatedCount}`;
      return info(type === 'temporal' ? await newTemporal(newId) : await newMongo(newId));
    }
    const entry = id === undefined ? undefined : servers.get(`${type}/${id}`);
    if (!entry) throw new HttpError(404, `no ${type} server ${id}`);
    if (method === 'DELETE' && action === undefined) {
      if (entry.id === 'shared') throw new HttpError(409, 'the shared servers live as long as the run');
      servers.delete(`${type}/${entry.id}`);
      await entry.server.stop();
      return info(entry);
    }
    if (method === 'POST' && (action === 'stop' || action === 'start' || action === 'restart')) {
      if (entry.type === 'mongo' && entry.server.kind === 'mongodb-uri') {
        throw new HttpError(
          409,
          'the shared MongoDB comes from MONGODB_URI and cannot be stopped or started',
        );
      }
      await entry.server[action]();
      return info(entry);
    }
    throw new HttpError(405, `${method} ${url} not supported`);
  };

  try {
    // allSettled, not all: when one fails, the other is registered before teardown runs.
    const started = await Promise.allSettled([newTemporal('shared'), newMongo('shared')]);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [temporal, mongo] = started.map((result) => (result as PromiseFulfilledResult<Entry>).value);
    if (temporal?.type !== 'temporal' || mongo?.type !== 'mongo') throw new Error('unreachable');
    control = http.createServer((req, res) => {
      handle(req.method ?? 'GET', req.url ?? '/').then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        },
        (err: unknown) => {
          const status = err instanceof HttpError ? err.status : 500;
          const message = err instanceof Error ? err.message : String(err);
          res
            .writeHead(status, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: message }));
        },
      );
    });
    const server = control;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => resolve());
    });
    const { port } = server.address() as AddressInfo;

    project.provide('temporalAddress', temporal.server.address);
    project.provide('temporalNamespace', temporal.server.namespace);
    project.provide('temporalUiUrl', temporal.server.uiUrl ?? '');
    project.provide('mongoUri', mongo.server.uri);
    project.provide('mongoKind', mongo.server.kind);
    project.provide('serverControlUrl', `http://${LOOPBACK}:${port}/${token}`);
    const seconds = ((performance.now() - began) / 1000).toFixed(1);
    console.error(
      `[test servers] Temporal ${temporal.server.address} (UI ${temporal.server.uiUrl}), ` +
        `${mongo.server.kind} ${mongo.server.uri}; ready in ${seconds} s`,
    );
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
  return teardown;
}
