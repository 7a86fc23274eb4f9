/**
 * Streams through two sidecars with mTLS, with real clients: WebSocket (the `ws` library)
 * authorised at upgrade time and then carried as bytes; server-sent events longer than the
 * request timeout; and, from the attacker's side, what an upgrade must not open up.
 */
import { equal, ok } from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { meshYaml, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';

const api = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n`;
const routes = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  matches:\n  - name: live\n    pathRegex: /(ws|sse|delay)(/.*)?\n    methods: [GET]\n`;
const target = `apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-live\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: api\n    namespace: shop\n  rules:\n  - kind: HTTPRouteGroup\n    name: api\n    matches: [live]\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n`;
// The request timeout is short: streams must outlive it, slow answers must not.
const policy = `apiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: short\n  namespace: shop\nspec:\n  targetRefs:\n  - kind: Service\n    name: api\n  timeouts:\n    request: 400ms\n`;

/** Opens a WebSocket to api.shop through `from`'s outbound listener; resolves with the upgrade's outcome. */
function openSocket(mesh: TestMesh, from: string, path: string): Promise<{ ws?: WebSocket; status?: number; reason?: string }> {
  const pod = mesh.pod(from);
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${pod.ip}:${OUTBOUND_PORT}${path}`, { headers: { host: 'api.shop' } });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, reason: String(res.headers['x-skiff-reason'] ?? '') });
      res.resume();
    });
    ws.once('error', () => resolve({}));
  });
}

function exchange(ws: WebSocket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.once('close', () => reject(new Error('closed before the answer')));
    ws.send(message);
  });
}

describe('streams: WebSocket and server-sent events through two sidecars', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'strict', [{ name: 'api', ports: [8080] }, { name: 'client' }, { name: 'intruder' }], [api, routes, target, policy].join('---\n')));
  });
  after(async () => mesh?.close());

  test('a WebSocket from an allowed identity is upgraded, carried over mTLS both ways, and counted once as 101 when it closes', async () => {
    const { ws, status } = await openSocket(mesh, 'client', '/ws/chat');
    ok(ws, `upgraded (got ${status})`);
    const first = await exchange(ws, 'hello');
    ok(first.startsWith('api-0: hello'), first);
    ok(first.includes('URI=spiffe://cluster.local/ns/shop/sa/client'), `the application saw the verified caller: ${first}`);
    // Outlives the 400 ms request timeout: a stream is not a request waiting for its answer.
    await new Promise((r) => setTimeout(r, 700));
    equal((await exchange(ws, 'still there')).split(' (')[0], 'api-0: still there');
    const big = 'x'.repeat(256 * 1024);
    equal((await exchange(ws, big)).length, `api-0: ${big}`.length + first.length - 'api-0: hello'.length);
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    const metrics = await (await fetch(`http://${mesh.pod('client').ip}:${15000}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('skiff_requests_total{') && l.includes('direction="outbound"') && l.includes('status_code="101"'));
    ok(line?.endsWith(' 1'), `one outbound request with status 101:\n${metrics.split('\n').filter((l) => l.startsWith('skiff_requests_total')).join('\n')}`);
  });

  test('a WebSocket from an identity no TrafficTarget lists is refused with 403 at upgrade time, and the application never sees it', async () => {
    const app = mesh.pod('api').apps[0];
    const before = app?.received ?? 0;
    const denied = await openSocket(mesh, 'intruder', '/ws/chat');
    equal(denied.status, 403);
    equal(denied.reason, 'access-denied');
    // A path outside the route is refused the same way for an allowed caller.
    const offRoute = await openSocket(mesh, 'client', '/admin/socket');
    equal(offRoute.status, 403);
    equal(app?.received, before);
  });

  test('a refused upgrade ends the connection: bytes sent after it are never parsed as a new, unjudged request', async () => {
    const pod = mesh.pod('intruder');
    const app = mesh.pod('api').apps[0];
    const before = app?.received ?? 0;
    const got = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: pod.ip, port: OUTBOUND_PORT });
      let text = '';
      socket.on('data', (d) => { text += d.toString(); });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
      socket.write('GET /ws HTTP/1.1\r\nhost: api.shop\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
        + 'GET /ws/smuggled HTTP/1.1\r\nhost: api.shop\r\n\r\n');
      setTimeout(() => socket.destroy(), 3000).unref();
    });
    equal(got.match(/^HTTP\/1\.1 /gm)?.length, 1, got);
    ok(got.startsWith('HTTP/1.1 403'), got);
    equal(app?.received, before);
  });

  test('an `Upgrade: h2c` request is answered over HTTP/1.1, not tunnelled', async () => {
    const pod = mesh.pod('client');
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get({ host: pod.ip, port: OUTBOUND_PORT, path: '/delay/0', headers: { host: 'api.shop', connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQCAAAAAAIAAAAA' } });
      req.on('upgrade', () => reject(new Error('tunnelled')));
      req.on('response', (r) => {
        let body = '';
        r.on('data', (c: Buffer) => { body += c.toString(); });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    equal(res.status, 200);
    const seen = (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
    equal(seen.upgrade, undefined, 'the hop-by-hop Upgrade is not passed on');
  });

  test('a policy\'s timeouts.streamIdle cuts a stream that goes quiet for longer', async () => {
    const quiet = policy.replace('    request: 400ms\n', '    request: 400ms\n    streamIdle: 300ms\n');
    await mesh.update(meshYaml('shop', 'strict', [{ name: 'api', ports: [8080] }, { name: 'client' }, { name: 'intruder' }], [api, routes, target, quiet].join('---\n')));
    try {
      const pod = mesh.pod('client');
      const res = await request(`http://${pod.ip}:${OUTBOUND_PORT}/sse/3/600`, { headers: { host: 'api.shop' } });
      equal(res.statusCode, 200);
      const cut = await res.body.text().then(() => false, () => true);
      ok(cut, 'the stream was cut after 300 ms without a byte');
    } finally {
      await mesh.update(meshYaml('shop', 'strict', [{ name: 'api', ports: [8080] }, { name: 'client' }, { name: 'intruder' }], [api, routes, target, policy].join('---\n')));
    }
  });

  test('server-sent events flow for longer than the request timeout; an answer that does not start within it is still a 504', async () => {
    const pod = mesh.pod('client');
    const started = Date.now();
    const res = await request(`http://${pod.ip}:${OUTBOUND_PORT}/sse/8/150`, { headers: { host: 'api.shop' } });
    equal(res.statusCode, 200);
    equal(res.headers['content-type'], 'text/event-stream');
    const events = (await res.body.text()).split('\n\n').filter((e) => e.startsWith('id:'));
    equal(events.length, 8);
    ok(Date.now() - started >= 1000, 'the stream lasted more than twice the request timeout');
    const slow = await mesh.request('client', 'http://api.shop/delay/1500');
    equal(slow.status, 504);
    equal(slow.headers['x-skiff-reason'], 'upstream-timeout');
  });
});
