/**
 * Attacker's side of the traffic reports a control plane accepts (POST /v1/traffic) and of the
 * replica-to-replica read (GET /v1/traffic/entries): reporting as another pod, with a foreign
 * CA's certificate or none, oversized, malformed and hostile bodies, floods, and a workload
 * trying to read the mesh's traffic. The store stays bounded throughout.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { MeshController } from '../../src/control/controller.ts';
import { CONTROL_IDENTITY_ACCOUNT, DistributionServer } from '../../src/control/distribute/server.ts';
import { localTraffic } from '../../src/control/traffic/backend.ts';
import { SLOT_MS, TrafficStore } from '../../src/control/traffic/store.ts';
import { MAX_REPORT_SERIES, type TrafficSeries } from '../../src/config/index.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { meshYaml } from '../support/mesh.ts';
import { makeLeaf, makeRoot } from '../support/pki.ts';

const series = (n = 1): TrafficSeries => ({ direction: 'inbound', peer: { namespace: 'shop', pod: 'api-0' }, service: 'shop/web', success: n, failure: 0, denied: 0, latency: [[100, n]] });

describe('control plane: traffic reports under attack', () => {
  const controller = new MeshController({ debounceMs: 1, maxDelayMs: 5, departedGraceMs: 4000 });
  const store = new TrafficStore({ maxBytes: 3000 * 168 });
  let ca: CertificateAuthority;
  let server: DistributionServer;
  let url: string;
  const agents: Agent[] = [];
  const as = (identity?: string, foreign = false) => {
    let cert: { certPem: string; keyPem: string } | undefined;
    if (identity && foreign) cert = makeLeaf({ uris: [identity], issuer: makeRoot('thief') });
    else if (identity) {
      const keys = generateKeyPair();
      cert = { certPem: ca.issue(createCsr(keys, identity), identity).certificatePem, keyPem: privateKeyPem(keys.privateKey) };
    }
    const a = new Agent({ connect: { ca: ca.trustBundle(), ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) } });
    agents.push(a);
    return a;
  };
  const report = async (dispatcher: Agent, body: unknown) => {
    const res = await request(`${url}/v1/traffic`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }).catch((err: Error) => err);
    if (res instanceof Error) return { status: 0, body: res.message };
    return { status: res.statusCode, body: await res.body.text() };
  };
  const web = 'spiffe://cluster.local/ns/shop/sa/web';

  before(async () => {
    ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    const { documents } = parseYamlText('mesh.yaml', meshYaml('shop', 'strict', [{ name: 'web', ports: [8080] }, { name: 'api', ports: [9090] }]));
    let n = 1;
    controller.update(snapshotFromDocuments(documents.map((d) => d.value), { allocate: () => `10.9.0.${n++}` }));
    controller.rebuild();
    server = new DistributionServer({ controller, ca, host: '127.0.0.1', port: 0, traffic: { store, local: localTraffic(controller, store) } });
    url = await server.start();
  });
  after(async () => {
    await server?.close();
    controller.stop();
    await Promise.all(agents.map((a) => a.close()));
  });

  test('a proxy reports its own traffic only; a foreign CA or no certificate reports nothing', async () => {
    equal((await report(as(web), { proxy: 'shop/web-0', series: [series()] })).status, 200);
    equal((await report(as('spiffe://cluster.local/ns/shop/sa/api'), { proxy: 'shop/web-0', series: [series(1000)] })).status, 403, 'api may not report as web');
    equal((await report(as(web, true), { proxy: 'shop/web-0', series: [series(1000)] })).status, 403, 'a forged certificate');
    equal((await report(as(), { proxy: 'shop/web-0', series: [series(1000)] })).status, 403, 'no certificate');
    equal((await report(as(web), { proxy: 'shop/ghost-0', series: [series()] })).status, 404, 'a pod the mesh does not know');
    equal(store.window(60_000).entries.reduce((n, e) => n + e.success, 0), 1, 'only the real report counted');
  });

  test('malformed, hostile and oversized bodies are refused before anything is stored', async () => {
    const me = as(web);
    const before = store.size;
    for (const body of [
      '{"proxy": ',
      { proxy: 'shop/web-0', series: [{ ...series(), success: -5 }] },
      { proxy: 'shop/web-0', series: [{ ...series(), success: 1.5 }] },
      { proxy: 'shop/web-0', series: [{ ...series(), latency: [[5000, 1]] }] },
      { proxy: 'shop/web-0', series: [{ ...series(), latency: [[1, 0]] }] },
      { proxy: 'shop/web-0', series: [{ ...series(), direction: 'sideways' }] },
      { proxy: 'shop/web-0', series: [{ ...series(), peer: { namespace: 'x'.repeat(300) } }] },
      { proxy: 'shop/web-0', series: [{ ...series(), __proto__: { polluted: true }, extra: 1 }] },
      { proxy: 'shop/web-0', series: Array.from({ length: MAX_REPORT_SERIES + 3 }, () => series()) },
    ]) {
      const r = await report(me, body);
      equal(r.status, 400, `${JSON.stringify(body).slice(0, 120)} → ${r.body.slice(0, 200)}`);
    }
    const huge = await report(me, { proxy: 'shop/web-0', series: [series()], padding: 'x'.repeat(2 * 1024 * 1024) });
    ok(huge.status === 413 || huge.status === 0, `2 MiB body: ${huge.status}`);
    equal(store.size, before);
    equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a flood is cut at 20 reports per interval, and the store never holds more than its byte budget', async () => {
    const me = as('spiffe://cluster.local/ns/shop/sa/api');
    const statuses: number[] = [];
    // 45: more than two slots' worth, so a flood that happens to straddle a slot boundary (20 accepted on each side) is still cut.
    for (let i = 0; i < 45; i++) statuses.push((await report(me, { proxy: 'shop/api-0', series: Array.from({ length: 200 }, () => series()) })).status);
    ok(statuses.includes(429), `some reports refused: ${statuses.join(',')}`);
    ok(statuses.filter((s) => s === 200).length <= 20 + 20, 'at most 20 per interval (two intervals may be touched)');
    ok(store.bytes <= 3000 * 168, `store holds ${store.bytes} bytes`);
    ok(store.dropped > 0, 'what did not fit is counted');
  });

  test('only another control plane replica may ask for this replica\'s part of an answer, and only a well-formed question', async () => {
    const ask = async (dispatcher: Agent, body: unknown) => {
      const res = await request(`${url}/v1/traffic/partial`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch((err: Error) => err);
      if (res instanceof Error) return { status: 0, body: {} };
      return { status: res.statusCode, body: await res.body.json() as { items?: { success: number }[]; error?: string } };
    };
    const question = { resource: 'deployments', namespace: 'shop', edges: false, windowMs: 60_000 };
    const replica = ca.spiffeId('skiff-system', CONTROL_IDENTITY_ACCOUNT);
    equal((await ask(as(web), question)).status, 403, 'a workload');
    equal((await ask(as(replica, true), question)).status, 403, 'a forged controller');
    equal((await ask(as(), question)).status, 403, 'no certificate');
    const answer = await ask(as(replica), question);
    equal(answer.status, 200, 'a replica');
    ok((answer.body.items?.length ?? 0) > 0);
    for (const bad of [{ ...question, windowMs: 10 ** 9 }, { ...question, resource: 'secrets' }, { ...question, extra: true }, { ...question, namespace: 'x'.repeat(300) }]) {
      const r = await ask(as(replica), bad);
      deepStrictEqual([r.status, Boolean(r.body.error)], [400, true], JSON.stringify(bad).slice(0, 100));
    }
  });

  test('only another control plane replica may read what the proxies acknowledged here; a malformed version gets a whole answer', async () => {
    const read = async (dispatcher: Agent, query = '') => {
      const res = await request(`${url}/v1/acks${query}`, { dispatcher }).catch((err: Error) => err);
      return res instanceof Error ? { status: 0, body: {} } : { status: res.statusCode, body: await res.body.json() as Record<string, unknown> };
    };
    const replica = ca.spiffeId('skiff-system', CONTROL_IDENTITY_ACCOUNT);
    controller.acknowledge('shop/web-0', { hash: controller.proxies.get('shop/web-0')?.config.hash as string });
    for (const query of ['', '?since=0']) {
      equal((await read(as(web), query)).status, 403, 'a workload');
      equal((await read(as(replica, true), query)).status, 403, 'a forged controller');
      equal((await read(as(), query)).status, 403, 'no certificate');
    }
    const flat = await read(as(replica));
    equal(flat.status, 200, 'a replica');
    deepStrictEqual(Object.keys(flat.body), ['shop/web-0'], 'without a version: every entry, as earlier versions answer');
    ok(Object.values(flat.body).every((ack) => /^[0-9a-f]{64}$/.test((ack as { applied: string }).applied)), JSON.stringify(flat.body).slice(0, 200));
    const whole = (await read(as(replica), '?since=0')).body as { epoch: string; seq: number; full: boolean; acks: Record<string, unknown> };
    deepStrictEqual([whole.full, Object.keys(whole.acks)], [true, ['shop/web-0']]);
    const quiet = (await read(as(replica), `?epoch=${whole.epoch}&since=${whole.seq}`)).body;
    deepStrictEqual([quiet.full, quiet.acks, quiet.removed], [false, {}, []], 'nothing changed since');
    for (const bad of ['?since=-1', '?since=1e400', `?epoch=${whole.epoch}&since=abc`, `?epoch=${whole.epoch}&since=${whole.seq + 99}`, `?epoch=${'x'.repeat(4000)}&since=1`, '?since=0&since=1']) {
      const got = await read(as(replica), bad);
      equal(got.status, 200, bad.slice(0, 40));
      equal(got.body.full, true, `${bad.slice(0, 40)}: a whole answer, never a wrong delta`);
    }
  });

  // Last: it takes web's pod out of the topology.
  test('a pod that just left (a finished Job) still delivers its last report, as itself only, and for a short grace only', async () => {
    // A new slot first: the flood above filled this one's byte budget.
    await new Promise((r) => setTimeout(r, SLOT_MS - (Date.now() % SLOT_MS) + 20));
    const { documents } = parseYamlText('mesh.yaml', meshYaml('shop', 'strict', [{ name: 'api', ports: [9090] }]));
    controller.update(snapshotFromDocuments(documents.map((d) => d.value), { allocate: () => '10.9.0.9' }));
    controller.rebuild();
    equal(controller.proxies.has('shop/web-0'), false, 'web left the topology');
    const fromWeb = () => store.window(60_000).entries.filter((e) => e.reporter.pod === 'web-0').map((e) => e.success).filter((n) => n !== 1);
    const last = await report(as(web), { proxy: 'shop/web-0', series: [series(7)] });
    deepStrictEqual([last.status, (JSON.parse(last.body) as { stored: number }).stored], [200, 1], 'its last report is taken');
    equal((await report(as('spiffe://cluster.local/ns/shop/sa/api'), { proxy: 'shop/web-0', series: [series(1000)] })).status, 403, 'api may not report as the departed web');
    equal((await report(as(web, true), { proxy: 'shop/web-0', series: [series(1000)] })).status, 403, 'nor a forged web');
    await new Promise((r) => setTimeout(r, 4100));
    equal((await report(as(web), { proxy: 'shop/web-0', series: [series(1000)] })).status, 404, 'after the grace it is unknown');
    deepStrictEqual(fromWeb(), [7], 'only the real last report counted');
  });
});
