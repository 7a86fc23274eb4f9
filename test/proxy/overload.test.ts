/**
 * A sidecar under more concurrency than its memory limit allows (src/proxy/overload.ts): the
 * excess is answered 503 `overloaded` at once, connections beyond the listener's share are
 * closed at accept, and the sidecar lives on and serves what fits. (bench/overload-note in
 * docs/performance.md: without these bounds 1,000 calls to a slow Service OOM-killed a 128 MiB
 * sidecar.)
 */
import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { MESH_PORT, meshYaml, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';
import { boundsFor } from '../../src/proxy/overload.ts';

const service = (name: string, targetPort: number) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - name: http\n    port: 80\n    targetPort: ${targetPort}\n`;
const web = service('web', 8080);
// A limit below the reserve: every bound at its floor (32 in flight, 44 inbound connections).
const LIMIT = 32 * 2 ** 20;
const bounds = boundsFor(LIMIT);

async function metric(mesh: TestMesh, pod: string, name: string): Promise<string> {
  return (await mesh.pod(pod).proxy?.telemetry.registry.getSingleMetricAsString(name)) ?? '';
}

describe('a sidecar bounded by its memory limit', () => {
  let mesh: TestMesh;
  // Enough connections for every request at once.
  const agent = new Agent({ connections: 128 });
  const call = (mesh: TestMesh, path: string, signal?: AbortSignal) => {
    const client = mesh.pod('client');
    return request(`http://${client.ip}:${OUTBOUND_PORT}${path}`, { headers: { host: 'web.shop' }, dispatcher: agent, ...(signal ? { signal } : {}) })
      .then(async (res) => ({ status: res.statusCode, reason: res.headers['x-skiff-reason'], text: await res.body.text() }));
  };
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080] }, { name: 'client' }], web), { memoryLimitBytes: LIMIT });
  });
  after(async () => {
    await agent.destroy();
    await mesh?.close();
  });

  test('requests beyond the in-flight bound are answered 503 overloaded at once; the rest are served', async () => {
    equal(bounds.maxInFlight, 32);
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 40 }, () => call(mesh, '/delay/600')));
    const by = (status: number) => answers.filter((a) => a.status === status);
    equal(by(200).length, 32, JSON.stringify(answers.map((a) => a.status)));
    equal(by(503).length, 8);
    ok(by(503).every((a) => a.reason === 'overloaded' && a.text.includes('the most its memory limit allows (32)')), by(503)[0]?.text);
    ok(Date.now() - started < 5000);
    ok((await metric(mesh, 'client', 'skiff_requests_shed_total')).includes('skiff_requests_shed_total{direction="outbound"} 8'));
    ok((await metric(mesh, 'client', 'skiff_requests_in_flight_limit')).includes('skiff_requests_in_flight_limit 32'));
    ok((await metric(mesh, 'client', 'skiff_requests_in_flight')).includes('skiff_requests_in_flight{direction="outbound"} 0'), 'every finished request left the count');
  });

  test('a request whose client leaves gives its place back', async () => {
    // 32 requests that give up after 150 ms, then 32 that wait: none of the second wave is shed.
    const leaving = await Promise.all(Array.from({ length: 32 }, () => call(mesh, '/delay/2000', AbortSignal.timeout(150)).then(() => 'answered', () => 'left')));
    equal(leaving.filter((x) => x === 'left').length, 32);
    await sleep(100);
    const answers = await Promise.all(Array.from({ length: 32 }, () => call(mesh, '/delay/100')));
    equal(answers.filter((a) => a.status === 200).length, 32, JSON.stringify(answers.map((a) => a.reason ?? a.status)));
  });

  test('a WebSocket counts while it is open and gives its place back when it closes', async () => {
    const client = mesh.pod('client');
    const open = () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`ws://${client.ip}:${OUTBOUND_PORT}/ws/chat`, { headers: { host: 'web.shop' } });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode} ${String(res.headers['x-skiff-reason'])}`)));
      ws.once('error', reject);
    });
    const close = (ws: WebSocket) => new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    const inFlight = async () => Number(/skiff_requests_in_flight\{direction="outbound"\} (\d+)/.exec(await metric(mesh, 'client', 'skiff_requests_in_flight'))?.[1]);
    const five = await Promise.all(Array.from({ length: 5 }, open));
    equal(await inFlight(), 5);
    for (const ws of five) await close(ws);
    // More upgrades, one after another, than the bound: each gave its place back.
    for (let i = 0; i < bounds.maxInFlight + 8; i++) await close(await open());
    await mesh.waitFor(() => true, 'nothing');
    await sleep(100);
    equal(await inFlight(), 0);
  });

  test('HTTP/2 streams give their place back when they close', async () => {
    const session = http2.connect(`http://${mesh.pod('client').ip}:${OUTBOUND_PORT}`);
    session.on('error', () => undefined);
    const stream = () => new Promise<{ status: number; reason: unknown }>((resolve) => {
      const s = session.request({ ':path': '/', ':authority': 'web.shop' });
      s.on('response', (headers) => resolve({ status: Number(headers[':status']), reason: headers['x-skiff-reason'] }));
      s.on('close', () => resolve({ status: 0, reason: 'closed' }));
      s.resume();
      s.end();
    });
    try {
      // More streams, one after another, than the bound (whatever the HTTP/1.1 application makes of them): none is shed.
      for (let i = 0; i < bounds.maxInFlight + 8; i++) {
        const answer = await stream();
        ok(answer.status > 0 && answer.reason !== 'overloaded', JSON.stringify(answer));
      }
    } finally {
      session.destroy();
    }
    await sleep(100);
    ok((await metric(mesh, 'client', 'skiff_requests_in_flight')).includes('skiff_requests_in_flight{direction="outbound"} 0'));
  });

  test('the inbound listener holds its share of connections and closes the rest at accept', async () => {
    const webPod = mesh.pod('web');
    const sockets: net.Socket[] = [];
    let closedEarly = 0;
    try {
      for (let i = 0; i < bounds.maxInboundConnections + 10; i++) {
        const socket = net.connect({ host: webPod.ip, port: MESH_PORT });
        socket.on('error', () => undefined);
        socket.on('close', () => closedEarly++);
        sockets.push(socket);
      }
      await mesh.waitFor(() => closedEarly >= 10, 'ten connections closed at accept');
      await sleep(200);
      // The client sidecar's pooled connections to web (up to 32 from the tests before) hold places too.
      ok(closedEarly <= 10 + bounds.maxInFlight, `${closedEarly} closed: the rest are held (until their first byte is due)`);
      ok((await metric(mesh, 'web', 'skiff_connections_refused_total')).includes(`skiff_connections_refused_total{listener="inbound",reason="too-many-connections"} ${closedEarly}`));
    } finally {
      for (const s of sockets) s.destroy();
    }
    await sleep(100);
    equal((await mesh.request('client', 'http://web.shop/')).status, 200, 'served again once they are gone');
  });
});

describe('a middle tier under a flood of callers', () => {
  // mid's application calls web for every request it serves (400 ms), through its own sidecar.
  const MID_PORT = 9090;
  let mesh: TestMesh;
  let app: http.Server;
  const agent = new Agent({ connections: 256 });
  before(async () => {
    const workloads = [{ name: 'web', ports: [8080] }, { name: 'mid', ports: [MID_PORT] }, { name: 'caller-a' }, { name: 'caller-b' }];
    mesh = await TestMesh.start(meshYaml('shop', 'permissive', workloads, [web, service('mid', MID_PORT)].join('---\n')), { memoryLimitBytes: LIMIT, ownApps: [MID_PORT] });
    const mid = mesh.pod('mid');
    app = http.createServer((_req, res) => {
      request(`http://${mid.ip}:${OUTBOUND_PORT}/delay/400`, { headers: { host: 'web.shop' }, dispatcher: agent }).then(async (up) => {
        await up.body.dump();
        res.writeHead(up.statusCode === 200 ? 200 : 500, { 'x-call-out': `${up.statusCode} ${String(up.headers['x-skiff-reason'])}` }).end();
      }, (error: Error) => res.writeHead(500, { 'x-call-out': error.message }).end());
    });
    await new Promise<void>((resolve) => app.listen(MID_PORT, mid.ip, resolve));
  });
  after(async () => {
    app?.closeAllConnections();
    app?.close();
    await agent.destroy();
    await mesh?.close();
  });

  test('every request let in can make its calls out: the excess is shed at the door, not halfway', async () => {
    // 60 callers in two pods, each calling again as soon as it is answered, for 2 s: twice what
    // mid may hold inbound. With one bound for both directions the callers took every place,
    // mid's calls to web were shed, and it answered 500 to most of what it let in.
    const answers: string[] = [];
    const until = Date.now() + 2000;
    const caller = async (pod: string) => {
      while (Date.now() < until) {
        answers.push(await request(`http://${mesh.pod(pod).ip}:${OUTBOUND_PORT}/`, { headers: { host: 'mid.shop' }, dispatcher: agent }).then(async (res) => {
          await res.body.dump();
          return res.statusCode === 200 ? 'served' : `${res.statusCode} ${String(res.headers['x-call-out'] ?? res.headers['x-skiff-reason'])}`;
        }, (error: Error) => error.message));
      }
    };
    await Promise.all([...Array.from({ length: 30 }, () => caller('caller-a')), ...Array.from({ length: 30 }, () => caller('caller-b'))]);
    const count = (what: string) => answers.filter((a) => a === what).length;
    const failedInside = answers.filter((a) => a.startsWith('500'));
    equal(failedInside.length, 0, `mid's calls out were refused: ${failedInside.slice(0, 3).join('; ')}`);
    ok(count('served') >= 100, `served ${count('served')} in 2 s (32 at a time, 400 ms each)`);
    const shed = await metric(mesh, 'mid', 'skiff_requests_shed_total');
    ok(/direction="outbound"\} 0\b/.test(shed), shed);
    ok(!/direction="inbound"\} 0\b/.test(shed), `the flood was beyond mid's inbound bound: ${shed}`);
  });
});

describe('TCP connections to a Service', () => {
  // raw.shop is a TCP port (its name says so): the client's sidecar forwards it from its own
  // listener on port 7000, over its own mTLS connection to web's sidecar.
  const raw = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: raw\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: tcp-raw\n    port: 7000\n    targetPort: 8080\n';
  const workloads = [{ name: 'web', ports: [8080] }, { name: 'client' }];
  /** Opens `n` connections to the client's forward of raw.shop; resolves once `settled` says the sidecar decided on all. */
  const open = async (mesh: TestMesh, n: number, settled: () => Promise<boolean>) => {
    const sockets = Array.from({ length: n }, () => net.connect({ host: mesh.pod('client').ip, port: 7000 }).on('error', () => undefined));
    await mesh.waitFor(() => true, 'nothing');
    for (let i = 0; i < 50 && !(await settled()); i++) await sleep(50);
    return sockets;
  };
  const counted = async (mesh: TestMesh, name: string, labels: RegExp) => Number(new RegExp(`${labels.source}\\} (\\d+)`).exec(await metric(mesh, 'client', name))?.[1] ?? 0);

  test('under a memory limit each takes an outbound place, as a request calling out does', async () => {
    const mesh = await TestMesh.start(meshYaml('shop', 'permissive', workloads, [web, raw].join('---\n')), { memoryLimitBytes: LIMIT });
    const overloaded = () => counted(mesh, 'skiff_tcp_connections_total', /destination_service="raw",result="overloaded"/);
    const sockets = await open(mesh, bounds.maxInFlight + 8, async () => (await overloaded()) >= 8);
    try {
      equal(await overloaded(), 8);
      ok((await metric(mesh, 'client', 'skiff_requests_in_flight')).includes(`skiff_requests_in_flight{direction="outbound"} ${bounds.maxInFlight}`));
      // An HTTP request calling out finds no place either, until the connections close.
      equal((await mesh.request('client', 'http://web.shop/')).status, 503);
      for (const s of sockets) s.destroy();
      await mesh.waitFor(() => true, 'nothing');
      for (let i = 0; i < 50 && (await mesh.request('client', 'http://web.shop/')).status !== 200; i++) await sleep(50);
      const again = await mesh.request('client', 'http://web.shop/');
      equal(again.status, 200, `${String(again.headers['x-skiff-reason'])} ${again.text}`);
    } finally {
      for (const s of sockets) s.destroy();
      await mesh.close();
    }
  });

  test('without one, the forward listeners hold the outbound listener\'s connection cap and close the rest at accept', async () => {
    const mesh = await TestMesh.start(meshYaml('shop', 'permissive', workloads, [web, raw].join('---\n')), { limits: { maxConnections: 8 } });
    const refused = () => counted(mesh, 'skiff_connections_refused_total', /listener="outbound",reason="too-many-connections"/);
    const sockets = await open(mesh, 12, async () => (await refused()) >= 4);
    try {
      equal(await refused(), 4);
    } finally {
      for (const s of sockets) s.destroy();
      await mesh.close();
    }
  });
});
