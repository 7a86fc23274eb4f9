/** Config swaps and certificate rotation under load, bad configs kept out, admin endpoints. */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ADMIN_PORT, meshYaml, TestMesh } from '../support/mesh.ts';

const services = ['web', 'web-v1', 'web-v2'].map((name) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n    app: web\n${name === 'web' ? '' : `    version: ${name.slice(4)}\n`}  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n`).join('---\n');
const split = (a: number, b: number) => `apiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  service: web\n  backends:\n  - service: web-v1\n    weight: ${a}\n  - service: web-v2\n    weight: ${b}\n`;
const yaml = (a: number, b: number) => meshYaml('shop', 'strict', [
  { name: 'web-v1', labels: { app: 'web', version: 'v1' }, sa: 'web', ports: [8080] },
  { name: 'web-v2', labels: { app: 'web', version: 'v2' }, sa: 'web', ports: [8080] },
  { name: 'client' },
], `${services}---\n${split(a, b)}---\napiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata:\n  name: all\n  namespace: shop\nspec:\n  matches:\n    ports: []\n---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-web\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: web\n  rules:\n  - kind: TCPRoute\n    name: all\n  sources:\n  - kind: ServiceAccount\n    name: client\n`);

/** Runs `workers` request loops until `stop`; returns every status seen. */
async function load(mesh: TestMesh, stop: { done: boolean }, workers = 8): Promise<{ statuses: Map<number, number>; total: number; failures: string[] }> {
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  let total = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (!stop.done && total < 100_000) {
      try {
        const res = await mesh.request('client', 'http://web.shop/');
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200 && failures.length < 5) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
      } catch (err) {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        if (failures.length < 5) failures.push(String(err));
      }
      total++;
    }
  }));
  return { statuses, total, failures };
}

describe('lifecycle', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(yaml(50, 50));
  });
  after(async () => mesh?.close());

  test('config swaps under load fail no request', async () => {
    const stop = { done: false };
    const running = load(mesh, stop);
    const until = Date.now() + 1500;
    for (let i = 0; i < 200 && (i < 10 || Date.now() < until); i++) await mesh.update(i % 2 === 0 ? yaml(100, 0) : yaml(0, 100));
    stop.done = true;
    const { statuses, total, failures } = await running;
    deepStrictEqual([...statuses.keys()], [200], failures.join('\n'));
    ok(total > 100, `${total} requests`);
  });

  test('certificate rotation of every workload under load fails no request', async () => {
    const client = mesh.pod('client').proxy;
    const before = (client?.stats().certificate as { generation: number }).generation;
    const stop = { done: false };
    const running = load(mesh, stop);
    await new Promise((r) => setTimeout(r, 200));
    for (const pod of mesh.pods.values()) if (pod.proxy) mesh.pki.issue(`${pod.dir}/certs`, pod.node.identity);
    await mesh.waitFor(() => [...mesh.pods.values()].every((p) => !p.proxy || (p.proxy.tls?.generation ?? 0) > before), 'every proxy loaded its new certificate', 8000);
    await new Promise((r) => setTimeout(r, 300));
    stop.done = true;
    const { statuses, failures } = await running;
    deepStrictEqual([...statuses.keys()], [200], failures.join('\n'));
  });

  test('a broken config is refused, reported, and the last good one keeps serving', async () => {
    const client = mesh.pod('client');
    const good = client.proxy?.state?.config.hash;
    for (const bad of ['{ not json', JSON.stringify({ schema: 'skiff.dev/proxy-config/v9' })]) {
      mesh.writeConfig(client, bad);
      await mesh.waitFor(() => (client.proxy?.configReport().lastError ?? null) !== null, 'the proxy reports the bad config');
      equal(client.proxy?.state?.config.hash, good);
      equal((await mesh.request('client', 'http://web.shop/')).status, 200);
      mesh.writeConfig(client, { ...client.proxy?.state?.config });
      await mesh.waitFor(() => client.proxy?.configReport().lastError === null, 'the good config is back');
    }
    const hostile = structuredClone(client.proxy?.state?.config);
    ok(hostile);
    hostile.hash = 'f'.repeat(64);
    hostile.inbound.rules = [{ via: 'x/y', sources: [], protocols: ['http'], http: [{ name: 'r/m', pathRegex: '(?=lookahead)' }] }];
    mesh.writeConfig(client, hostile);
    await mesh.waitFor(() => String(client.proxy?.configReport().lastError ?? '').includes('lookahead'), 'the regex problem is reported');
    equal(client.proxy?.state?.config.hash, good);
    const metrics = await client.proxy?.telemetry.registry.getSingleMetricAsString('skiff_config_updates_total');
    ok(/result="rejected"\} [3-9]/.test(metrics ?? ''), metrics);
  });

  test('admin: ready, live, config, stats and Prometheus metrics with workload labels', async () => {
    const web = mesh.pod('web-v1');
    const admin = `http://${web.ip}:${ADMIN_PORT}`;
    equal((await request(`${admin}/ready`)).statusCode, 200);
    equal((await request(`${admin}/live`)).statusCode, 200);
    const config = await (await request(`${admin}/config`)).body.json() as { hash: string };
    equal(config.hash, web.proxy?.state?.config.hash);
    const stats = await (await request(`${admin}/stats`)).body.json() as { certificate: { identity: string } };
    equal(stats.certificate.identity, 'spiffe://cluster.local/ns/shop/sa/web');
    const metrics = await (await request(`${admin}/metrics`)).body.text();
    ok(/skiff_requests_total\{direction="inbound",source_namespace="shop",source_workload_kind="Deployment",source_workload="client",destination_namespace="shop",destination_workload_kind="Deployment",destination_workload="web-v1",destination_service="web",route="",status_code="200"\} \d+/.test(metrics), metrics.split('\n').filter((l) => l.startsWith('skiff_requests_total')).join('\n'));
    ok(/skiff_request_duration_ms_bucket\{le="5",direction="inbound"/.test(metrics));
    ok(/skiff_certificate_expiry_timestamp_seconds \d+/.test(metrics));
    ok(/skiff_config_info\{hash="[0-9a-f]{64}"\} 1/.test(metrics));
  });
});
