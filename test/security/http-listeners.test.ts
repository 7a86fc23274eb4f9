/**
 * Attacker's side of the HTTP listeners (inbound on the pod address, outbound for the app):
 * slow and idle connections, too many connections, Expect: 100-continue, dot-segments,
 * hostile Host values, CONNECT, and forged forwarding headers. Real sidecars, real sockets.
 */
import { equal, match, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import net from 'node:net';
import { meshYaml, MESH_PORT, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';
import { rawProbe, refusedCount } from './support.ts';

const api = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n`;
const access = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: books\n  namespace: shop\nspec:\n  matches:\n  - name: books\n    pathRegex: /books(/.*)?\n  - name: upload\n    pathRegex: /body\n    methods: [POST]\n---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-books\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: api\n    namespace: shop\n  rules:\n  - kind: HTTPRouteGroup\n    name: books\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n`;

const LIMITS = { firstByteMs: 600, handshakeMs: 600, headersMs: 800, idleMs: 3000, keepAliveMs: 3000, maxConnections: 20 };

describe('HTTP listeners under attack', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'strict', [{ name: 'api', ports: [8080] }, { name: 'client' }], `${api}---\n${access}`), { limits: LIMITS });
  });
  after(async () => mesh?.close());
  const apiIp = () => mesh.pod('api').ip;
  const clientIp = () => mesh.pod('client').ip;

  test('a connection that never sends a byte is cut after the first-byte timeout and counted', async () => {
    const proxy = mesh.pod('api').proxy;
    ok(proxy);
    const before = await refusedCount(proxy, 'inbound', 'first-byte-timeout');
    const result = await rawProbe(apiIp(), MESH_PORT, '', 5000);
    ok(result.closed, 'closed by the sidecar');
    ok(result.elapsedMs < 3000, `closed after ${Math.round(result.elapsedMs)} ms`);
    equal(await refusedCount(proxy, 'inbound', 'first-byte-timeout'), before + 1);
  });

  test('half-sent request headers get 408 with a reason, on both listeners', async () => {
    for (const [ip, port] of [[apiIp(), MESH_PORT], [clientIp(), OUTBOUND_PORT]] as const) {
      const result = await rawProbe(ip, port, 'GET /books/1 HTTP/1.1\r\nHost: api.shop\r\nX-Slow: ', 5000);
      match(result.text, /^HTTP\/1\.1 408 /);
      match(result.text, /x-skiff-reason: request-timeout/);
      ok(result.closed && result.elapsedMs < 4000, `closed after ${Math.round(result.elapsedMs)} ms`);
    }
  });

  test('a TLS handshake that stops half way is cut after the handshake timeout', async () => {
    const proxy = mesh.pod('api').proxy;
    ok(proxy);
    const before = await refusedCount(proxy, 'inbound', 'handshake-timeout');
    // The first bytes of a ClientHello record, then silence.
    const result = await rawProbe(apiIp(), MESH_PORT, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]), 5000);
    ok(result.closed && result.elapsedMs < 4000, `closed after ${Math.round(result.elapsedMs)} ms`);
    equal(await refusedCount(proxy, 'inbound', 'handshake-timeout'), before + 1);
  });

  test('beyond the connection cap, new connections are closed at once and counted; the listener recovers', async () => {
    const proxy = mesh.pod('api').proxy;
    ok(proxy);
    const before = await refusedCount(proxy, 'inbound', 'too-many-connections');
    const held: net.Socket[] = [];
    for (let i = 0; i < LIMITS.maxConnections; i++) {
      const socket = net.connect({ host: apiIp(), port: MESH_PORT });
      socket.on('error', () => undefined);
      held.push(socket);
      await new Promise((resolve) => socket.once('connect', resolve));
    }
    const extra = await rawProbe(apiIp(), MESH_PORT, '', 2000);
    ok(extra.closed && extra.elapsedMs < 500, `the connection over the cap was closed after ${Math.round(extra.elapsedMs)} ms`);
    equal(await refusedCount(proxy, 'inbound', 'too-many-connections'), before + 1);
    for (const socket of held) socket.destroy();
    await mesh.waitFor(() => true, 'sockets released');
    await new Promise((r) => setTimeout(r, 100));
    equal((await mesh.request('client', 'http://api.shop/books/1')).status, 200);
  });

  test('Expect: 100-continue: 100 is sent, the body arrives, and the endpoint keeps serving', async () => {
    const body = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 5; i++) {
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: clientIp(), port: OUTBOUND_PORT });
        let text = '';
        let sent = false;
        const timer = setTimeout(() => { socket.destroy(); resolve(text); }, 4000);
        socket.on('data', (d: Buffer) => {
          text += d.toString();
          if (!sent && text.includes('100 Continue\r\n\r\n')) {
            sent = true;
            socket.write(body);
          }
          if (text.includes('HTTP/1.1 200') && text.endsWith('\r\n0\r\n\r\n')) { clearTimeout(timer); socket.destroy(); resolve(text); }
        });
        socket.on('error', () => resolve(text));
        socket.write(`POST /body HTTP/1.1\r\nHost: api.shop\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
      });
      match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, `round ${i}`);
      ok(answer.replace(/\r\n[0-9a-f]+\r\n/g, '').includes(body), `round ${i}: the whole body reached the app and came back`);
    }
    const started = performance.now();
    equal((await mesh.request('client', 'http://api.shop/books/1')).status, 200);
    ok(performance.now() - started < 1000, 'no wedged pool: the next request is answered at once');
    ok(mesh.pod('client').proxy?.stats().endpoints instanceof Array);
    const inflight = (mesh.pod('client').proxy?.stats().endpoints as { inflight: number }[]).reduce((n, e) => n + e.inflight, 0);
    equal(inflight, 0, 'every attempt settled');
  });

  test('Expect: 100-continue on a request the inbound side denies: 403 without 100, the body is never asked for', async () => {
    const result = await rawProbe(apiIp(), MESH_PORT, 'PUT /books/1 HTTP/1.1\r\nHost: api.shop:8080\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', 3000);
    match(result.text, /^HTTP\/1\.1 403 /);
    ok(!result.text.includes('100 Continue'));
  });

  test('dot-segments and their encodings cannot step out of an allowed path', async () => {
    for (const path of ['/books/../admin', '/books/%2e%2e/admin', '/books/.%2E/admin', '/books/./../../admin', '/books/..']) {
      equal((await mesh.request('client', `http://api.shop${path}`)).status, 403, path);
    }
    const raw = await rawProbe(clientIp(), OUTBOUND_PORT, 'GET //admin HTTP/1.1\r\nHost: api.shop\r\nConnection: close\r\n\r\n');
    match(raw.text, /^HTTP\/1\.1 403 /);
    const allowed = await rawProbe(clientIp(), OUTBOUND_PORT, 'GET /books/./a/../7?x=../y HTTP/1.1\r\nHost: api.shop\r\nConnection: close\r\n\r\n');
    match(allowed.text, /^HTTP\/1\.1 200 /);
    match(allowed.text, /"path":"\/books\/7\?x=\.\.\/y"/, 'the app receives the normal form that was matched, query untouched');
    const slash = await rawProbe(clientIp(), OUTBOUND_PORT, 'GET /books/a%2F..%2F..%2Fadmin HTTP/1.1\r\nHost: api.shop\r\nConnection: close\r\n\r\n');
    match(slash.text, /^HTTP\/1\.1 400 /);
    match(slash.text, /x-skiff-reason: bad-request/);
  });

  test('hostile Host values get 400, never a guess', async () => {
    for (const host of ['api.shop:80@evil', 'api.shop:80:81', 'api shop', 'api.shop:99999', '[::1']) {
      for (const [ip, port] of [[clientIp(), OUTBOUND_PORT], [apiIp(), MESH_PORT]] as const) {
        const result = await rawProbe(ip, port, `GET /books/1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        match(result.text, /^HTTP\/1\.1 400 /, `${host} on ${port}`);
        match(result.text, /x-skiff-reason: bad-request/);
      }
    }
    const absolute = await rawProbe(clientIp(), OUTBOUND_PORT, 'GET http://api.shop:80@evil/books/1 HTTP/1.1\r\nHost: evil\r\nConnection: close\r\n\r\n');
    match(absolute.text, /^HTTP\/1\.1 400 /);
  });

  test('CONNECT is answered 405 with a reason on both listeners, not a silent close', async () => {
    for (const [ip, port] of [[clientIp(), OUTBOUND_PORT], [apiIp(), MESH_PORT]] as const) {
      const result = await rawProbe(ip, port, 'CONNECT api.shop:80 HTTP/1.1\r\nHost: api.shop:80\r\n\r\n');
      match(result.text, /^HTTP\/1\.1 405 /);
      match(result.text, /x-skiff-reason: method-not-allowed/);
    }
  });

  test('forwarding headers from the caller are replaced by what the sidecars verified', async () => {
    const res = await mesh.request('client', 'http://api.shop/books/1', { headers: { 'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/shop/sa/api;URI=spiffe://cluster.local/ns/kube-system/sa/admin', 'x-forwarded-for': '6.6.6.6', 'x-skiff-peer-identity': 'spiffe://cluster.local/ns/kube-system/sa/admin' } });
    equal(res.status, 200);
    const headers = res.json().headers as Record<string, string>;
    equal(headers['x-forwarded-client-cert'], 'By=spiffe://cluster.local/ns/shop/sa/api;URI=spiffe://cluster.local/ns/shop/sa/client');
    equal(headers['x-skiff-peer-identity'], 'spiffe://cluster.local/ns/shop/sa/client');
    const chain = headers['x-forwarded-for']?.split(', ') ?? [];
    equal(chain.length, 2, 'the caller\'s entry is kept, the real peer address appended');
    ok(net.isIP(chain[1] ?? '') !== 0 && chain[1] !== '6.6.6.6');
  });

  // Last: a request that succeeds leaves a pooled connection to the api's inbound listener,
  // which the connection-cap test above must not find there.
  // The listeners' idle time here: the longer of idleMs and keepAliveMs + 1 s (frontend.ts).
  const IDLE_MS = Math.max(LIMITS.idleMs, LIMITS.keepAliveMs + 1000);

  test('a request whose body stops half way is cut after the idle time, on both listeners', async () => {
    for (const [ip, port] of [[clientIp(), OUTBOUND_PORT], [apiIp(), MESH_PORT]] as const) {
      // Headers whole (so no header timeout applies), then 10 of 1,000 body bytes and silence.
      const result = await rawProbe(ip, port, 'POST /body HTTP/1.1\r\nHost: api.shop\r\nContent-Length: 1000\r\n\r\n0123456789', IDLE_MS + 4000);
      ok(result.closed, `port ${port}: the sidecar closed the stalled connection`);
      ok(result.elapsedMs >= IDLE_MS - 100 && result.elapsedMs < IDLE_MS + 2500, `port ${port}: closed after ${Math.round(result.elapsedMs)} ms (idle time ${IDLE_MS} ms)`);
    }
  });

  test('a body that keeps moving, however slowly, is not cut by the idle time', async () => {
    const body = 'x'.repeat(12);
    const socket = net.connect({ host: clientIp(), port: OUTBOUND_PORT });
    let text = '';
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /body HTTP/1.1\r\nHost: api.shop\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    // One byte every 500 ms: the whole body takes 6 s, longer than the idle time.
    for (const byte of body) {
      await new Promise((r) => setTimeout(r, 500));
      ok(!socket.destroyed, `cut while the body was still moving: ${JSON.stringify(text.slice(0, 80))}`);
      socket.write(byte);
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    socket.destroy();
    match(text, /^HTTP\/1\.1 200 /);
    ok(text.includes(body), `the body came back whole: ${JSON.stringify(text.slice(-60))}`);
  });
});
