/**
 * A throwaway PKI for TLS tests (openssl): a CA, a server certificate for `localhost` and
 * 127.0.0.1, and a client certificate for mTLS; plus a TLS-terminating TCP proxy that puts them in
 * front of a plaintext gRPC server (the Temporal dev server has no TLS options), the way a load
 * balancer or a TLS-enabled frontend would.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  remove(): void;
}

const CLIENT_CN = 'cronofy-sync-test-client';

/** Generates the PKI with openssl (EC P-256, PKCS#8 keys, SANs: what rustls and grpc-js accept). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'cronofy-sync-pki-'));
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name: string) =>
    ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(name));
  key('ca.key');
  ssl(
    'req',
    '-x509',
    '-new',
    '-key',
    f('ca.key'),
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=cronofy-sync test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    f('ca.crt'),
  );
  const leaf = (name: string, cn: string, ext: string) => {
    key(`${name}.key`);
    ssl('req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${cn}`, '-out', f(`${name}.csr`));
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  };
  const common = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';
  leaf(
    'server',
    'localhost',
    `${common}extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n`,
  );
  leaf('client', CLIENT_CN, `${common}extendedKeyUsage=clientAuth\n`);
  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxy {
  address: string;
  /** TLS sessions established, with the client certificate's CN when one was presented. */
  sessions: Array<{ alpn: string | false; clientCn: string | undefined }>;
  close(): Promise<void>;
}

/**
 * Terminates TLS (HTTP/2 by ALPN, as gRPC needs) and pipes the bytes to `target` in plaintext.
 * With `requireClientCert`, a client without a certificate signed by the CA is refused (mTLS).
 */
export async function startTlsProxy(
  pki: TestPki,
  target: string,
  opts: { requireClientCert: boolean },
): Promise<TlsProxy> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  const sessions: TlsProxy['sessions'] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(pki.serverKey),
      cert: readFileSync(pki.serverCert),
      ca: readFileSync(pki.caCert),
      requestCert: opts.requireClientCert,
      rejectUnauthorized: opts.requireClientCert,
      ALPNProtocols: ['h2'],
    },
    (client) => {
      const cert = client.getPeerCertificate();
      const cn = cert?.subject?.CN;
      sessions.push({ alpn: client.alpnProtocol ?? false, clientCn: Array.isArray(cn) ? cn[0] : cn });
      const upstream = net.connect(port, host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${proxyPort}`,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export { CLIENT_CN as TEST_CLIENT_CN };
