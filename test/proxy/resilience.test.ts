/** Retries, outlier ejection, circuit breaking, timeouts, rate limits and fault injection, for real. */
import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ProxyConfig } from '../../src/config/index.ts';
import { meshYaml, TestMesh } from '../support/mesh.ts';

const web = `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n`;
const yaml = meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080], replicas: 2 }, { name: 'client' }], web);

function edit(f: (c: ProxyConfig) => void) {
  return (c: ProxyConfig) => f(c);
}

describe('resilience', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(yaml);
  });
  after(async () => mesh?.close());

  test('a dead endpoint costs no request: retried elsewhere, then ejected', async () => {
    const dead = mesh.pod('web-1');
    await dead.apps[0]?.close();
    for (let i = 0; i < 40; i++) {
      const res = await mesh.request('client', 'http://web.shop/');
      equal(res.status, 200, res.text);
      equal(res.json().app, 'web-0');
    }
    const stats = mesh.pod('client').proxy?.stats() as { endpoints: { endpoint: string; ejections: number }[] };
    ok(stats.endpoints.some((e) => e.endpoint.startsWith(dead.ip) && e.ejections > 0), JSON.stringify(stats.endpoints));
    const metrics = await mesh.pod('client').proxy?.telemetry.registry.getSingleMetricAsString('skiff_retries_total');
    ok(/skiff_retries_total\{cluster="shop\/web:80"\} [1-9]/.test(metrics ?? ''), metrics);
  });

  test('a 503 is retried for GET but a POST with a body is never replayed', async () => {
    const retries = async () => Number(/\} (\d+)/.exec((await mesh.pod('client').proxy?.telemetry.registry.getSingleMetricAsString('skiff_retries_total')) ?? '')?.[1] ?? 0);
    const app = mesh.pod('web-0').apps[0];
    ok(app);
    app.received = 0;
    const before = await retries();
    equal((await mesh.request('client', 'http://web.shop/status/503', { method: 'POST', body: 'order' })).status, 503);
    equal(app.received, 1, 'the POST reached the app once');
    equal(await retries(), before, 'no retry for the POST');
    equal((await mesh.request('client', 'http://web.shop/status/503')).status, 503);
    equal(await retries(), before + 2, 'the GET was tried three times');
  });

  test('the overall timeout answers 504', async () => {
    await mesh.update(yaml, edit((c) => { c.outbound.defaults.timeoutMs = 150; }));
    const started = Date.now();
    const res = await mesh.request('client', 'http://web.shop/delay/2000');
    equal(res.status, 504);
    equal(res.headers['x-skiff-reason'], 'upstream-timeout');
    ok(Date.now() - started < 1500);
  });

  test('the circuit breaker opens at the request limit and closes again', async () => {
    await mesh.update(yaml, edit((c) => { c.outbound.defaults.circuitBreaker.maxRequests = 2; }));
    const results = await Promise.all([0, 1, 2, 3].map(() => mesh.request('client', 'http://web.shop/delay/300')));
    const open = results.filter((r) => r.status === 503 && r.headers['x-skiff-reason'] === 'circuit-open');
    equal(open.length, 2, results.map((r) => r.status).join(','));
    equal(results.filter((r) => r.status === 200).length, 2);
    equal((await mesh.request('client', 'http://web.shop/')).status, 200);
  });

  test('the inbound rate limit answers 429 beyond the burst', async () => {
    await mesh.update(yaml, edit((c) => { if (c.proxy.workload.name === 'web') c.inbound.rateLimit = { requestsPerSecond: 2, burst: 3 }; }));
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await mesh.request('client', 'http://web.shop/')).status);
    ok(statuses.filter((s) => s === 429).length >= 4, statuses.join(','));
    ok(statuses.filter((s) => s === 200).length >= 3, statuses.join(','));
  });

  test('fault injection: aborts with the configured status, delays by the configured time', async () => {
    await mesh.update(yaml, edit((c) => { c.outbound.defaults.fault = { abortStatus: 418, abortPercent: 100 }; }));
    const aborted = await mesh.request('client', 'http://web.shop/');
    equal(aborted.status, 418);
    equal(aborted.headers['x-skiff-reason'], 'fault-injected');
    await mesh.update(yaml, edit((c) => { c.outbound.defaults.fault = { delayMs: 250, delayPercent: 100 }; }));
    const started = Date.now();
    equal((await mesh.request('client', 'http://web.shop/')).status, 200);
    ok(Date.now() - started >= 240);
  });
});
