/**
 * The service's Temporal connections over mutual TLS, configured only through the SDK's standard
 * variables (TEMPORAL_ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME,
 * TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH): the API's client (grpc-js) and the
 * worker's NativeConnection (Rust core) both reach the run-wide Temporal dev server through a
 * TLS-terminating proxy that demands a client certificate from our CA (the dev server has no TLS
 * options of its own). A client without the certificate is refused.
 */
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../scripts/lib/wait.js';
import { loadConfig } from '../../src/config.js';
import { type ApiRuntime, startApi, startWorker, type WorkerRuntime } from '../../src/runtime.js';
import { testMongoUri, testTemporalAddress, testTemporalNamespace, uniqueName } from '../support/env.js';
import { workflowBundle } from '../support/stack.js';
import { createTestPki, startTlsProxy, TEST_CLIENT_CN, type TestPki, type TlsProxy } from '../support/tls.js';

let pki: TestPki;
let proxy: TlsProxy;
let api: ApiRuntime | undefined;
let worker: WorkerRuntime | undefined;
const db = uniqueName('db-tls');

beforeAll(async () => {
  pki = createTestPki();
  proxy = await startTlsProxy(pki, testTemporalAddress(), { requireClientCert: true });
});
afterAll(async () => {
  await api?.close();
  await worker?.close();
  await proxy?.close();
  pki?.remove();
  const mongo = await MongoClient.connect(testMongoUri());
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

describe('Temporal over mTLS, from the standard TEMPORAL_* variables', () => {
  it('the API client and the worker connect, with our client certificate, over HTTP/2', async () => {
    const port = proxy.address.split(':')[1];
    const config = loadConfig({
      LOCAL_MODE: '1',
      LOG_LEVEL: 'warn',
      MONGODB_URI: testMongoUri(),
      MONGODB_DB: db,
      TEMPORAL_TASK_QUEUE: uniqueName('tq-tls'),
      TEMPORAL_NAMESPACE: testTemporalNamespace(),
      // By IP, verified against the name in the server certificate.
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
    });
    expect(config.temporal.connection.tls).toMatchObject({ serverNameOverride: 'localhost' });

    worker = await startWorker(config, { workflowBundle: await workflowBundle() });
    expect(worker.worker.getState()).toBe('RUNNING');
    api = await startApi(config, { listen: false });
    // /readyz asks Temporal through the API's client (MongoDB is connected in the background: the
    // API starts without it, so readiness may take a moment).
    const ready = await eventually(
      async () => {
        const res = await api?.app.inject({ method: 'GET', url: '/readyz' });
        return res?.statusCode === 200 ? res : undefined;
      },
      20_000,
      'the API ready over mTLS',
    );
    expect(ready.json()).toMatchObject({ temporal: true, mongo: true });

    // Both went through the proxy, with TLS (ALPN h2) and our client certificate.
    expect(proxy.sessions.length).toBeGreaterThanOrEqual(2);
    for (const s of proxy.sessions) expect(s).toEqual({ alpn: 'h2', clientCn: TEST_CLIENT_CN });
  });

  it('refuses a client without the certificate (the proxy really requires mTLS)', async () => {
    const port = proxy.address.split(':')[1];
    const config = loadConfig({
      LOCAL_MODE: '1',
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    });
    const before = proxy.sessions.length;
    const { tls } = config.temporal.connection;
    await expect(
      NativeConnection.connect({ address: config.temporal.address, tls }).then(async (c) => {
        // Should not get here; if it did, prove it with a call.
        await new Client({ connection: c as never }).workflowService.getSystemInfo({});
      }),
    ).rejects.toThrow(/certificate|handshake|tls|transport|connect/i);
    expect(proxy.sessions.length).toBe(before);
  });
});
