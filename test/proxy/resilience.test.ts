/**
 * Policies set by users in YAML (TrafficPolicy), observed in real traffic through real
 * sidecars: per-route timeouts, retries, circuit breaking (requests and pending requests),
 * outlier ejection, per-caller rate limits and fault injection. Policies are applied with
 * `mesh.update`, the way an edit of the YAML reaches every proxy.
 */
import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { meshYaml, TestMesh } from '../support/mesh.ts';

const web = `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---\napiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: web-routes\n  namespace: shop\nspec:\n  matches:\n  - name: slow\n    pathRegex: /delay/1000\n  - name: failing\n    pathRegex: /status/503\n`;
const base = meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080], replicas: 2 }, { name: 'client' }, { name: 'other' }], web);
const policy = (name: string, body: string) => `---\napiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n${body}`;
const retries = async (mesh: TestMesh) => Number(/\} (\d+)/.exec((await mesh.pod('client').proxy?.telemetry.registry.getSingleMetricAsString('skiff_retries_total')) ?? '')?.[1] ?? 0);

describe('traffic policies, set in YAML and seen in traffic', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(base);
  });
  after(async () => mesh?.close());

  test('without policies: a dead endpoint costs no request (retried elsewhere, then ejected)', async () => {
    const dead = mesh.pod('web-1');
    await dead.apps[0]?.close();
    for (let i = 0; i < 40; i++) {
      const res = await mesh.request('client', 'http://web.shop/');
      equal(res.status, 200, res.text);
      equal(res.json().app, 'web-0');
    }
    const stats = mesh.pod('client').proxy?.stats();
    ok(stats);
    ok(stats.endpoints.some((e) => e.endpoint.startsWith(dead.ip) && e.ejections > 0), JSON.stringify(stats.endpoints));
    ok(await retries(mesh) > 0);
  });

  test('by default a 503 is retried for GET, but a POST with a body is never replayed', async () => {
    const app = mesh.pod('web-0').apps[0];
    ok(app);
    app.received = 0;
    const before = await retries(mesh);
    equal((await mesh.request('client', 'http://web.shop/status/503', { method: 'POST', body: 'order' })).status, 503);
    equal(app.received, 1, 'the POST reached the app once');
    equal(await retries(mesh), before, 'no retry for the POST');
    equal((await mesh.request('client', 'http://web.shop/status/503')).status, 503);
    equal(await retries(mesh), before + 2, 'the GET was tried three times');
  });

  test('a route timeout applies on its route only; the Service timeout elsewhere', async () => {
    await mesh.update(base + policy('slow-route', '  targetRefs:\n  - kind: HTTPRouteGroup\n    name: web-routes\n    match: slow\n  timeouts:\n    request: 150ms\n') + policy('service-wide', '  targetRefs:\n  - kind: Service\n    name: web\n  timeouts:\n    request: 2s\n'));
    let started = Date.now();
    const slow = await mesh.request('client', 'http://web.shop/delay/1000');
    equal(slow.status, 504);
    equal(slow.headers['x-skiff-reason'], 'upstream-timeout');
    ok(Date.now() - started < 900, 'cut at the route\'s 150 ms');
    started = Date.now();
    equal((await mesh.request('client', 'http://web.shop/delay/400')).status, 200, 'another route: the Service\'s 2 s');
    ok(Date.now() - started >= 390);
  });

  test('retries follow the policy: none on a route that says 0, three on one that allows them', async () => {
    await mesh.update(base + policy('no-retries', '  targetRefs:\n  - kind: HTTPRouteGroup\n    name: web-routes\n    match: failing\n  retries:\n    attempts: 0\n') + policy('more-retries', '  targetRefs:\n  - kind: Service\n    name: web\n  retries:\n    attempts: 3\n    on: [gateway-error]\n    budgetPercent: 100\n'));
    let before = await retries(mesh);
    equal((await mesh.request('client', 'http://web.shop/status/503')).status, 503);
    equal(await retries(mesh), before, 'the failing route is not retried');
    before = await retries(mesh);
    equal((await mesh.request('client', 'http://web.shop/status/502')).status, 502);
    equal(await retries(mesh), before + 3, 'three retries elsewhere on the Service');
  });

  test('the circuit breaker opens at the policy\'s request limit and closes again', async () => {
    await mesh.update(base + policy('breaker', '  targetRefs:\n  - kind: Service\n    name: web\n  circuitBreaker:\n    maxRequests: 2\n'));
    const results = await Promise.all([0, 1, 2, 3].map(() => mesh.request('client', 'http://web.shop/delay/300')));
    const open = results.filter((r) => r.status === 503 && r.headers['x-skiff-reason'] === 'circuit-open');
    equal(open.length, 2, results.map((r) => r.status).join(','));
    equal(results.filter((r) => r.status === 200).length, 2);
    equal((await mesh.request('client', 'http://web.shop/')).status, 200);
  });

  test('pending requests beyond the policy\'s limit are refused while every connection is busy', async () => {
    await mesh.update(base + policy('pending', '  targetRefs:\n  - kind: Service\n    name: web\n  circuitBreaker:\n    maxConnections: 1\n    maxPendingRequests: 1\n  retries:\n    attempts: 0\n'));
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map(() => mesh.request('client', 'http://web.shop/delay/300')));
    const refused = results.filter((r) => r.status === 503 && r.headers['x-skiff-reason'] === 'circuit-open');
    ok(refused.length >= 1 && refused.some((r) => String(r.headers['x-skiff-detail']).includes('wait for a connection')), results.map((r) => `${r.status} ${String(r.headers['x-skiff-detail'] ?? '')}`).join('\n'));
    ok(results.some((r) => r.status === 200));
  });

  test('a per-caller rate limit answers 429 to the caller beyond its burst, not to the others', async () => {
    await mesh.update(base + policy('limit', '  targetRefs:\n  - kind: Service\n    name: web\n  rateLimit:\n    requestsPerSecond: 1\n    burst: 3\n    perCaller: true\n'));
    const statuses = [];
    for (let i = 0; i < 16; i++) statuses.push((await mesh.request('client', 'http://web.shop/')).status);
    ok(statuses.filter((s) => s === 429).length >= 6, statuses.join(','));
    equal((await mesh.request('other', 'http://web.shop/')).status, 200, 'another caller has its own bucket');
  });

  test('fault injection aborts and delays the configured share', async () => {
    await mesh.update(base + policy('chaos', '  targetRefs:\n  - kind: Service\n    name: web\n  faultInjection:\n    abort:\n      status: 418\n      percent: 100\n'));
    const aborted = await mesh.request('client', 'http://web.shop/');
    equal(aborted.status, 418);
    equal(aborted.headers['x-skiff-reason'], 'fault-injected');
    await mesh.update(base + policy('chaos', '  targetRefs:\n  - kind: Service\n    name: web\n  faultInjection:\n    abort:\n      status: 503\n      percent: 50\n    delay:\n      duration: 100ms\n      percent: 100\n  retries:\n    attempts: 0\n'));
    let faults = 0;
    const started = Date.now();
    for (let i = 0; i < 80; i++) if ((await mesh.request('client', 'http://web.shop/')).headers['x-skiff-reason'] === 'fault-injected') faults++;
    ok(faults > 20 && faults < 60, `${faults} of 80 aborted (50% configured; 4.5 sigma is 20..60)`);
    ok(Date.now() - started >= (80 - faults) * 95, 'the forwarded ones were delayed');
  });
});
