/**
 * A client that leaves before its answer ends, and policy values at the edges of what
 * validates, through real sidecars. A client's impatience is not the endpoint's failure: it
 * must not eject a healthy endpoint, start a retry nobody waits for, or be counted as the
 * endpoint's 502. And `0s`, `99999h` or a limit of 0 in a TrafficPolicy must mean what they say.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { meshYaml, TestMesh } from '../support/mesh.ts';

const web = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n';
const db = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  selector:\n    app: db\n  ports:\n  - name: tcp-db\n    port: 5432\n    targetPort: 5432\n';
const base = meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080], replicas: 2 }, { name: 'db', ports: [5432], replicas: 2 }, { name: 'client' }], `${web}---\n${db}`);
const policy = (body: string) => `${base}---\napiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: edge\n  namespace: shop\nspec:\n  targetRefs:\n  - kind: Service\n    name: web\n${body}`;
const LONGEST = '99999h99999m99999s99999ms';

/** How the client's sidecar counted requests to web, by status code. */
async function statuses(mesh: TestMesh): Promise<Record<string, number>> {
  const text = (await mesh.pod('client').proxy?.telemetry.registry.getSingleMetricAsString('skiff_requests_total')) ?? '';
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/destination_service="web"[^}]*status_code="(\d+)"[^}]*\} (\d+)/g)) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]);
  return out;
}

const received = (mesh: TestMesh) => ['web-0', 'web-1'].reduce((n, pod) => n + (mesh.pod(pod).apps[0]?.received ?? 0), 0);

/** Sends a request through the client's sidecar and gives up after `ms`: 'answered' or 'gave up'. */
async function impatient(mesh: TestMesh, path: string, ms: number): Promise<'answered' | 'gave up'> {
  return mesh.request('client', `http://web.shop${path}`, { signal: AbortSignal.timeout(ms) }).then(() => 'answered' as const, () => 'gave up' as const);
}

describe('a client that leaves, and policy values at their edges', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(base);
  });
  after(async () => mesh?.close());

  test('a client that gives up is not the endpoint\'s failure: no ejection, no retry, counted as 499', async () => {
    // Two consecutive errors eject; resets are retried up to three times.
    await mesh.update(policy('  outlierDetection:\n    consecutiveErrors: 2\n  retries:\n    attempts: 3\n    on: [reset, gateway-error]\n    budgetPercent: 100\n'));
    const sentBefore = received(mesh);
    const before = await statuses(mesh);
    for (let i = 0; i < 6; i++) equal(await impatient(mesh, '/delay/400', 60), 'gave up');
    await mesh.waitFor(() => received(mesh) - sentBefore >= 6, 'the six requests reached the apps');
    await sleep(600);
    equal(received(mesh) - sentBefore, 6, 'no retry was sent after the client left');
    const stats = mesh.pod('client').proxy?.stats();
    deepEqual(stats?.endpoints.filter((e) => e.ejections > 0).map((e) => e.endpoint), [], 'no endpoint ejected');
    const after = await statuses(mesh);
    equal((after['499'] ?? 0) - (before['499'] ?? 0), 6, JSON.stringify(after));
    equal((after['502'] ?? 0) - (before['502'] ?? 0), 0, 'not counted as the endpoint\'s 502');
    equal((await mesh.request('client', 'http://web.shop/')).status, 200);
  });

  test('a stream the client closes ends with the status it got and ejects nothing', async () => {
    const before = await statuses(mesh);
    // Four streams of 20 events 50 ms apart, each closed by its client after ~150 ms.
    for (let i = 0; i < 4; i++) equal(await impatient(mesh, '/sse/20/50', 150), 'gave up');
    await sleep(200);
    const after = await statuses(mesh);
    equal((after['200'] ?? 0) - (before['200'] ?? 0), 4, JSON.stringify(after));
    deepEqual(mesh.pod('client').proxy?.stats().endpoints.filter((e) => e.ejections > 0).map((e) => e.endpoint), []);
  });

  test('a fault delay holds the request; a client that leaves during it sends nothing upstream', async () => {
    await mesh.update(policy(`  faultInjection:\n    delay:\n      duration: ${LONGEST}\n      percent: 100\n`));
    const sentBefore = received(mesh);
    const before = await statuses(mesh);
    // Longer than Node can time: held (Node alone would fire after 1 ms).
    equal(await impatient(mesh, '/', 300), 'gave up');
    await mesh.update(policy('  faultInjection:\n    delay:\n      duration: 400ms\n      percent: 100\n'));
    equal(await impatient(mesh, '/', 100), 'gave up');
    await sleep(600);
    equal(received(mesh) - sentBefore, 0, 'nothing was forwarded for the clients that left');
    const after = await statuses(mesh);
    equal((after['499'] ?? 0) - (before['499'] ?? 0), 2, JSON.stringify(after));
    const started = Date.now();
    equal((await mesh.request('client', 'http://web.shop/')).status, 200);
    ok(Date.now() - started >= 390, 'a patient client is delayed, then answered');
  });

  test('maxPendingRequests 0: no request waits for a connection, but one with a free connection goes', async () => {
    await mesh.update(policy('  circuitBreaker:\n    maxConnections: 1\n    maxPendingRequests: 0\n  retries:\n    attempts: 0\n'));
    equal((await mesh.request('client', 'http://web.shop/')).status, 200, 'an idle connection: the request goes');
    // Two endpoints of one connection each, four requests at once.
    const results = await Promise.all([0, 1, 2, 3].map(() => mesh.request('client', 'http://web.shop/delay/300')));
    const refused = results.filter((r) => r.status === 503);
    ok(results.some((r) => r.status === 200) && refused.length >= 2, results.map((r) => r.status).join(','));
    for (const r of refused) {
      equal(r.headers['x-skiff-reason'], 'circuit-open');
      ok(String(r.headers['x-skiff-detail']).includes('no request may wait'), String(r.headers['x-skiff-detail']));
    }
  });

  test('every timeout at 0s means no limit; at the longest a duration can say, practically none', async () => {
    for (const value of ['0s', LONGEST]) {
      await mesh.update(policy(`  timeouts:\n    request: ${value}\n    perTry: ${value}\n    idle: ${value}\n    streamIdle: ${value}\n  outlierDetection:\n    baseEjectionTime: ${value}\n`));
      for (let i = 0; i < 4; i++) {
        const res = await mesh.request('client', 'http://web.shop/delay/20');
        equal(res.status, 200, `${value}: ${res.status} ${String(res.headers['x-skiff-detail'] ?? '')}`);
      }
      const stream = await mesh.request('client', 'http://web.shop/sse/3/30');
      equal(stream.status, 200);
      equal(stream.text.match(/^data: /gm)?.length, 3, `${value}: every event of a stream`);
    }
  });

  // The last two eject endpoints; the very last stops a pod's sidecar.
  test('a gateway error passed on to the client (no retry allowed) still counts against its endpoint', async () => {
    await mesh.update(policy('  outlierDetection:\n    consecutiveErrors: 2\n  retries:\n    attempts: 0\n'));
    for (let i = 0; i < 6; i++) equal((await mesh.request('client', 'http://web.shop/status/503')).status, 503);
    const ejected = mesh.pod('client').proxy?.stats().endpoints.filter((e) => e.ejections > 0) ?? [];
    ok(ejected.length > 0, 'six 503s in a row over two endpoints eject one');
  });

  test('TCP: a connection whose endpoint refuses is retried on another, and that endpoint is ejected', async () => {
    await mesh.update(`${base}---\napiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  targetRefs:\n  - kind: Service\n    name: db\n  outlierDetection:\n    consecutiveErrors: 1\n`);
    // A dead pod: its sidecar refuses connections.
    const dead = mesh.pod('db-1');
    await dead.proxy?.close();
    const talk = () => new Promise<string>((resolve) => {
      const socket = net.connect({ host: mesh.pod('client').ip, port: 5432 });
      let got = '';
      socket.on('data', (d) => { got += d.toString(); });
      socket.on('error', () => resolve(got));
      socket.on('close', () => resolve(got));
      socket.write('GET /tcp HTTP/1.1\r\nhost: db\r\nconnection: close\r\n\r\n');
    });
    for (let i = 0; i < 16; i++) ok((await talk()).includes('"app":"db-0"'), `connection ${i} reached the live endpoint`);
    const ejected = mesh.pod('client').proxy?.stats().endpoints.filter((e) => e.ejections > 0).map((e) => e.endpoint) ?? [];
    ok(ejected.some((e) => e.startsWith(`${dead.ip}:`)), JSON.stringify(ejected));
  });
});
