/** Real sidecars on loopback with real mTLS: routing, weighted splits, host forms, unknown hosts. */
import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { meshYaml, TestMesh } from '../support/mesh.ts';

const service = (name: string, selector: Record<string, string>, port = 80, target = 8080) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n${Object.entries(selector).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\n  ports:\n  - name: http\n    port: ${port}\n    targetPort: ${target}\n`;

const split = (v1: number, v2: number) => `apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  service: web\n  backends:\n  - service: web-v1\n    weight: ${v1}\n  - service: web-v2\n    weight: ${v2}\n`;

const abGroup = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: firefox\n  namespace: shop\nspec:\n  matches:\n  - name: ff\n    headers:\n      user-agent: ".*Firefox.*"\n`;

export function shopYaml(extra: string): string {
  return meshYaml('shop', 'permissive', [
    { name: 'web-v1', labels: { app: 'web', version: 'v1' }, sa: 'web', ports: [8080] },
    { name: 'web-v2', labels: { app: 'web', version: 'v2' }, sa: 'web', ports: [8080] },
    { name: 'client' },
  ], [service('web', { app: 'web' }), service('web-v1', { app: 'web', version: 'v1' }), service('web-v2', { app: 'web', version: 'v2' }), extra].filter(Boolean).join('---\n'));
}

describe('outbound routing through real sidecars', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(shopYaml(split(90, 10)));
  });
  after(async () => mesh?.close());

  test('every host form a pod can use reaches the service', async () => {
    for (const host of ['web', 'web.shop', 'web.shop.svc', 'web.shop.svc.cluster.local', 'web.shop.svc.cluster.local.:80', 'WEB.Shop']) {
      const res = await mesh.request('client', `http://${host}/hello`);
      equal(res.status, 200, host);
      ok(String(res.json().app).startsWith('web-v'), host);
    }
  });

  test('weights split requests per request over keep-alive connections (90/10 within 4.5 sigma)', async () => {
    const n = 2000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => mesh.request('client', 'http://web.shop/')));
      for (const r of batch) if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
      for (const r of batch) counts.set(String(r.json().app), (counts.get(String(r.json().app)) ?? 0) + 1);
    }
    const v2 = counts.get('web-v2-0') ?? 0;
    const sigma = Math.sqrt(n * 0.1 * 0.9);
    ok(Math.abs(v2 - n * 0.1) < 4.5 * sigma, `web-v2 got ${v2} of ${n}`);
    equal((counts.get('web-v1-0') ?? 0) + v2, n);
  });

  test('the server sees the caller\'s verified identity and the original Host', async () => {
    const res = await mesh.request('client', 'http://web.shop/who');
    const headers = res.json().headers as Record<string, string>;
    equal(headers['x-skiff-peer-identity'], 'spiffe://cluster.local/ns/shop/sa/client');
    equal(headers.host, 'web.shop');
    ok(headers['x-request-id'], 'a request id is added');
    equal(headers['x-skiff-client'], undefined, 'internal headers do not reach the app');
  });

  test('an application cannot pass its answer off as Skiff\'s: its x-skiff-* response headers are dropped', async () => {
    const res = await mesh.request('client', 'http://web.shop/status/403/forge');
    equal(res.status, 403);
    equal(res.headers['x-skiff-reason'], undefined);
    equal(res.headers['x-skiff-detail'], undefined);
    equal(res.headers['x-app'] !== undefined, true, 'the application\'s other headers pass');
  });

  test('hosts outside the mesh get 502 with a reason: never an open proxy', async () => {
    const res = await mesh.request('client', 'http://example.com/');
    equal(res.status, 502);
    equal(res.headers['x-skiff-reason'], 'unknown-host');
    equal((await mesh.request('client', 'http://web.shop:81/')).headers['x-skiff-reason'], 'unknown-host');
  });

  test('a weight change takes effect for the next requests; weight 0 gets nothing', async () => {
    await mesh.update(shopYaml(split(0, 1)));
    for (let i = 0; i < 40; i++) equal((await mesh.request('client', 'http://web.shop/')).json().app, 'web-v2-0');
    await mesh.update(shopYaml(split(0, 0)));
    const res = await mesh.request('client', 'http://web.shop/');
    equal(res.status, 503);
    equal(res.headers['x-skiff-reason'], 'no-backends');
  });

  test('header matches: Firefox users are split, others go to the root service', async () => {
    await mesh.update(shopYaml(`${abGroup}---\n${split(0, 1).replace('spec:\n', 'spec:\n  matches:\n  - kind: HTTPRouteGroup\n    name: firefox\n')}`));
    for (let i = 0; i < 20; i++) {
      equal((await mesh.request('client', 'http://web.shop/', { headers: { 'user-agent': 'Mozilla/5.0 Firefox/128.0' } })).json().app, 'web-v2-0');
    }
    const others = new Set<string>();
    for (let i = 0; i < 60; i++) others.add(String((await mesh.request('client', 'http://web.shop/', { headers: { 'user-agent': 'curl/8' } })).json().app));
    equal(others.size, 2, 'the root service reaches both versions');
  });

  test('request bodies stream through both sidecars', async () => {
    const body = 'x'.repeat(300_000);
    const res = await mesh.request('client', 'http://web-v1.shop/body', { method: 'POST', body });
    equal(res.status, 200, res.text.slice(0, 300));
    equal(res.text.length, body.length);
  });
});
