/**
 * The ack stream (POST /v1/ack-stream): a proxy's acks as lines of one long-lived HTTP/2
 * request. The real control client uses it; an attacker with no certificate, a forged one,
 * another workload's, HTTP/1.1, the wrong content type, acks for another proxy, lines that are
 * not JSON, not acks or too long, a line sent in slow pieces and a flood of streams each gets a
 * clear refusal, and only the lines before a refused one count.
 */
import { deepStrictEqual, equal, match, ok } from 'node:assert/strict';
import http2 from 'node:http2';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { MeshController } from '../../src/control/controller.ts';
import { ACK_LINE_LIMIT } from '../../src/control/distribute/ack-stream.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';
import { ControlClient } from '../../src/proxy/control-client.ts';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../../src/proxy/tls-material.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { GOLDEN_DIR } from '../support/golden.ts';
import { waitFor } from '../support/wait.ts';
import { tlsProbe } from './support.ts';

const CASE = join(GOLDEN_DIR, 'target-l4-example-tcp-and-udp-ports.in.yaml');
const PROXY = 'shop/consul-0';
const IDENTITY = 'spiffe://cluster.local/ns/shop/sa/server';
const OTHER = 'spiffe://cluster.local/ns/shop/sa/client';
const hashOf = (c: string) => c.repeat(64);

interface Material { cert: string; key: string }
interface Answer { status: number; text: string; reset: boolean }

/** Opens an ack stream over HTTP/2 as `material`, sends `pieces` (waiting `gapMs` between them), and reads the answer until it ends or `waitMs` passes. */
async function ackStream(url: string, ca: string, material: Material | undefined, pieces: string[], options: { contentType?: string; gapMs?: number; waitMs?: number; keepOpen?: boolean } = {}): Promise<Answer & { session: http2.ClientHttp2Session; stream: http2.ClientHttp2Stream }> {
  const session = http2.connect(url, { ca, ...(material ?? {}), servername: 'localhost', minVersion: 'TLSv1.3' });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': `/v1/ack-stream?proxy=${encodeURIComponent(PROXY)}`, 'content-type': options.contentType ?? 'application/x-ndjson' });
  stream.on('error', () => undefined);
  let status = 0;
  let text = '';
  let reset = false;
  stream.on('response', (h) => { status = Number(h[':status']); });
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => { text += d; });
  const ended = new Promise<void>((resolve) => { stream.on('close', () => { reset = stream.rstCode !== 0 && stream.rstCode !== undefined; resolve(); }); });
  for (const piece of pieces) {
    if (stream.destroyed) break;
    stream.write(piece);
    if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
  }
  if (!options.keepOpen) stream.end();
  await Promise.race([ended, new Promise((r) => setTimeout(r, options.waitMs ?? 2000))]);
  if (!options.keepOpen) session.close();
  return { status, text, reset, session, stream };
}

describe('the ack stream refuses what does not come from the proxy it names, and keeps what does', () => {
  let ca: CertificateAuthority;
  let server: DistributionServer;
  let url: string;
  let dir: string;
  let own: Material;
  let other: Material;
  let forged: Material;
  const controller = new MeshController({ debounceMs: 1, maxDelayMs: 5 });
  const applied = () => controller.proxies.get(PROXY)?.appliedHash;
  const issue = (authority: CertificateAuthority, identity: string): Material => {
    const keys = generateKeyPair();
    return { cert: authority.issue(createCsr(keys, identity), identity).certificatePem, key: privateKeyPem(keys.privateKey) };
  };

  before(async () => {
    ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    controller.update(snapshotFromDocuments(parseYamlText(CASE, readFileSync(CASE, 'utf8')).documents.map((d) => d.value)));
    controller.rebuild();
    server = new DistributionServer({ controller, ca, host: '127.0.0.1', port: 0 });
    url = `https://localhost:${new URL(await server.start()).port}`;
    dir = mkdtempSync(join(tmpdir(), 'skiff-ack-stream-'));
    own = issue(ca, IDENTITY);
    other = issue(ca, OTHER);
    // Same trust domain and identity, another CA: what an attacker can make on its own.
    forged = issue(await CertificateAuthority.open({ trustDomain: 'cluster.local' }), IDENTITY);
  });
  after(async () => {
    await server.close();
    controller.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the sidecar\'s control client acks on the stream: one line per config, recorded on this replica', async () => {
    writeFileSync(join(dir, CERT_FILE), own.cert);
    writeFileSync(join(dir, KEY_FILE), own.key);
    writeFileSync(join(dir, CA_FILE), ca.trustBundle());
    const events: string[] = [];
    const client = new ControlClient({ url, proxyId: PROXY, certDir: dir, trustBundle: ca.trustBundle(), log: (event) => events.push(event) });
    try {
      await client.start();
      await waitFor('the ack stream is open', () => events.includes('ack-stream-opened'), 5000);
      client.report({ hash: hashOf('a') });
      await waitFor('the ack on the stream', () => applied() === hashOf('a'), 3000);
      client.report({ error: 'refused: a test' });
      await waitFor('the refusal on the stream', () => controller.proxies.get(PROXY)?.lastError === 'refused: a test', 3000);
      ok(!events.includes('ack-stream-refused') && !events.includes('ack-stream-ended'), events.join(','));
    } finally {
      client.stop();
    }
  });

  test('without a certificate, with one from another CA, or with another workload\'s: refused before a line is read', async () => {
    const before = applied();
    const line = `${JSON.stringify({ proxy: PROXY, hash: hashOf('b') })}\n`;
    equal((await ackStream(url, ca.trustBundle(), undefined, [line])).status, 401);
    equal((await ackStream(url, ca.trustBundle(), forged, [line])).status, 401);
    equal((await ackStream(url, ca.trustBundle(), other, [line])).status, 403);
    equal(applied(), before);
  });

  test('HTTP/1.1 and another content type are refused', async () => {
    // No ALPN: the listener speaks HTTP/1.1.
    const body = `${JSON.stringify({ proxy: PROXY, hash: hashOf('c') })}\n`;
    const http1 = await tlsProbe({ host: '127.0.0.1', port: Number(new URL(url).port), servername: 'localhost', certPem: own.cert, keyPem: own.key, payload: `POST /v1/ack-stream?proxy=${encodeURIComponent(PROXY)} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-ndjson\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}` });
    match(http1.text, /^HTTP\/1\.1 400/);
    match(http1.text, /needs HTTP\/2/);
    equal((await ackStream(url, ca.trustBundle(), own, ['{}\n'], { contentType: 'text/plain' })).status, 415);
    ok(applied() !== hashOf('c'));
  });

  for (const [name, bad, why] of [
    ['an ack for another proxy', JSON.stringify({ proxy: 'shop/client-0', hash: hashOf('e') }), /an ack for shop\/client-0 on the stream of shop\/consul-0/],
    ['a line that is not JSON', '{"proxy": "shop/consul-0", "hash": ', /not JSON/],
    ['a line that is not an ack', JSON.stringify({ proxy: PROXY, hash: 'not-a-hash' }), /not an ack: \/hash must match pattern/],
    ['a line with a field an ack does not have', JSON.stringify({ proxy: PROXY, hash: hashOf('e'), admin: true }), /not an ack: \/ must NOT have additional properties/],
  ] as const) {
    test(`${name}: the acks before it count, the stream ends with one error line, nothing after it is read`, async () => {
      const answer = await ackStream(url, ca.trustBundle(), own, [`${JSON.stringify({ proxy: PROXY, hash: hashOf('d') })}\n`, `${bad}\n`, `${JSON.stringify({ proxy: PROXY, hash: hashOf('f') })}\n`], { gapMs: 50 });
      equal(answer.status, 200);
      const lines = answer.text.trim().split('\n');
      equal(lines.length, 1, answer.text);
      match((JSON.parse(lines[0] as string) as { error: string }).error, why);
      equal(applied(), hashOf('d'));
    });
  }

  test('an oversized line is refused as it grows, before its end arrives; nothing of it counts', async () => {
    const answer = await ackStream(url, ca.trustBundle(), own, [`{"proxy": "${PROXY}", "error": "`, 'x'.repeat(ACK_LINE_LIMIT), 'x'.repeat(ACK_LINE_LIMIT)], { gapMs: 50, keepOpen: true, waitMs: 3000 });
    try {
      equal(answer.status, 200);
      match(answer.text, /longer than 8192 bytes/);
      ok(answer.stream.destroyed || answer.stream.closed, 'the stream is over');
    } finally {
      answer.session.destroy();
    }
    ok(controller.proxies.get(PROXY)?.lastError?.startsWith('x') !== true);
  });

  test('a whole line of multibyte characters over the limit in bytes (not in characters) is refused; nothing of it counts', async () => {
    const line = `${JSON.stringify({ proxy: PROXY, error: '€'.repeat(ACK_LINE_LIMIT / 2) })}\n`;
    const answer = await ackStream(url, ca.trustBundle(), own, [line], { keepOpen: true, waitMs: 3000 });
    try {
      equal(answer.status, 200);
      match(answer.text, /longer than 8192 bytes/);
    } finally {
      answer.session.destroy();
    }
    ok(controller.proxies.get(PROXY)?.lastError?.startsWith('€') !== true);
  });

  test('a line sent in slow pieces counts once it is whole; the stream stays open meanwhile', async () => {
    const line = `${JSON.stringify({ proxy: PROXY, hash: hashOf('7') })}\n`;
    const pieces = [line.slice(0, 10), line.slice(10, 40), line.slice(40)];
    const answer = await ackStream(url, ca.trustBundle(), own, pieces.slice(0, 2), { gapMs: 300, keepOpen: true, waitMs: 10 });
    try {
      equal(answer.status, 200);
      ok(applied() !== hashOf('7'), 'half a line does not count');
      answer.stream.write(pieces[2]);
      await waitFor('the whole line', () => applied() === hashOf('7'), 3000);
      equal(answer.text, '');
    } finally {
      answer.session.destroy();
    }
  });

  test('at most two ack streams per proxy; a third is refused with 429 and a closed one frees its place', async () => {
    const open = [await ackStream(url, ca.trustBundle(), own, [], { keepOpen: true, waitMs: 200 }), await ackStream(url, ca.trustBundle(), own, [], { keepOpen: true, waitMs: 200 })];
    deepStrictEqual(open.map((a) => a.status), [200, 200]);
    const third = await ackStream(url, ca.trustBundle(), own, [], { waitMs: 1000 });
    equal(third.status, 429);
    match(third.text, /already has 2 ack streams/);
    open[0]?.session.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await ackStream(url, ca.trustBundle(), own, [`${JSON.stringify({ proxy: PROXY, hash: hashOf('9') })}\n`]);
    equal(again.status, 200);
    equal(applied(), hashOf('9'));
    open[1]?.session.destroy();
  });
});
