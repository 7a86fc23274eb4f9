/**
 * bench/connection-memory: what Node itself holds per idle connection on the server side, the
 * floor under the control plane's memory per proxy stream (bench/scale: ~100 KB a stream).
 *
 * Method: for each kind of connection, a fresh server process listens on loopback and forks a
 * client process that opens N connections (default 2,000; one every millisecond) and keeps them
 * open; once all are up, the server runs a full GC and malloc_trim, then reads its RSS and V8
 * heap, and compares with the same reading before the first connection. Kinds:
 *   tcp       a net server, nothing sent;
 *   tls       TLS 1.3 with a required client certificate (ECDSA P-256, as the mesh's), a few bytes sent;
 *   h2        HTTP/2 over that TLS, the session set up, no stream;
 *   h2stream  the same with one open response stream per connection (as a config stream).
 *
 *   npm run bench:connections      (N=2000)
 */
import { fork } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { createTestPki } from '../test/support/pki.ts';
import { mallocTrim } from '../src/lib/libc.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.env.N ?? 2000);
const PORT = 15240;
const KINDS = ['tcp', 'tls', 'h2', 'h2stream'] as const;
type Kind = (typeof KINDS)[number];
interface Material { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string }

/** The client: N connections of `kind`, then a message to the parent; it stays until killed. */
async function client(kind: Kind, m: Material): Promise<void> {
  const context = tls.createSecureContext({ ca: m.ca, cert: m.clientCert, key: m.clientKey, minVersion: 'TLSv1.3' });
  const secure = { secureContext: context, servername: 'localhost', checkServerIdentity: () => undefined };
  let open = 0;
  const up = () => { if (++open === N) process.send?.('up'); };
  for (let i = 0; i < N; i++) {
    await new Promise((r) => setTimeout(r, 1));
    if (kind === 'tcp') net.connect(PORT, '127.0.0.1', up);
    else if (kind === 'tls') tls.connect({ port: PORT, host: '127.0.0.1', ...secure }, up).on('data', () => undefined);
    else {
      const session = http2.connect(`https://127.0.0.1:${PORT}`, secure).on('error', () => undefined);
      if (kind === 'h2') session.once('remoteSettings', up);
      else session.request({ ':path': '/stream' }).on('response', up).on('data', () => undefined);
    }
  }
}

/** The server: listens, takes the client's N connections, prints the difference per connection. */
async function server(kind: Kind, m: Material): Promise<string> {
  const options = { key: m.serverKey, cert: m.serverCert, ca: m.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' as const };
  const held: unknown[] = [];
  const listening = kind === 'tcp' ? net.createServer((s) => held.push(s))
    : kind === 'tls' ? tls.createServer(options, (s) => { held.push(s); s.write('hello'); })
      : http2.createSecureServer(options).on('stream', (stream) => {
        held.push(stream);
        stream.respond({ ':status': 200, 'content-type': 'text/event-stream' });
        stream.write(': open\n\n');
      });
  await new Promise<void>((resolve) => listening.listen({ port: PORT, host: '127.0.0.1', backlog: 4096 }, resolve));
  const trim = mallocTrim();
  const reading = () => {
    (globalThis as { gc?: () => void }).gc?.();
    trim?.(0);
    const u = process.memoryUsage();
    return { rss: u.rss, heap: u.heapUsed };
  };
  await new Promise((r) => setTimeout(r, 200));
  const before = reading();
  const child = fork(import.meta.filename, [], { env: { ...process.env, CONN_ROLE: 'client', CONN_KIND: kind, CONN_MATERIAL: JSON.stringify(m) } });
  await new Promise((resolve) => child.once('message', resolve));
  await new Promise((r) => setTimeout(r, 500));
  const after = reading();
  child.kill('SIGKILL');
  const kb = (k: 'rss' | 'heap') => ((after[k] - before[k]) / N / 1024).toFixed(1).padStart(6);
  return `${kind.padEnd(9)} ${kb('rss')} KB RSS   ${kb('heap')} KB of it V8 heap in use`;
}

const role = process.env.CONN_ROLE;
const kind = process.env.CONN_KIND as Kind | undefined;
if (role === 'client' && kind) await client(kind, JSON.parse(process.env.CONN_MATERIAL as string) as Material);
else if (role === 'server' && kind) {
  process.send?.(await server(kind, JSON.parse(process.env.CONN_MATERIAL as string) as Material));
  process.exit(0);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-conn-mem-'));
  const pki = createTestPki();
  pki.issue(join(dir, 'server'), 'spiffe://cluster.local/ns/skiff-system/sa/skiff-controller');
  pki.issue(join(dir, 'client'), 'spiffe://cluster.local/ns/bench/sa/client');
  const read = (p: string) => readFileSync(join(dir, p), 'utf8');
  const material: Material = { ca: read('server/ca.pem'), serverCert: read('server/cert.pem'), serverKey: read('server/key.pem'), clientCert: read('client/cert.pem'), clientKey: read('client/key.pem') };
  rmSync(dir, { recursive: true, force: true });
  console.log(`bench/connection-memory — Node ${process.version}; ${N} idle connections per kind, each kind in a fresh server process; server RSS and V8 heap in use after a full GC and malloc_trim, before and after, per connection`);
  for (const k of KINDS) {
    const child = fork(import.meta.filename, [], { env: { ...process.env, CONN_ROLE: 'server', CONN_KIND: k, CONN_MATERIAL: JSON.stringify(material) }, execArgv: ['--expose-gc'] });
    console.log(await new Promise<string>((resolve) => child.once('message', resolve)));
    await new Promise((resolve) => child.once('exit', resolve));
  }
}
