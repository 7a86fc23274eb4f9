/**
 * The dashboard's view model without a browser: the bookstore example's topology, traffic
 * reports fed to a real TrafficStore and read back through the TrafficMetrics API code, and
 * the graph that comes out.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrafficSeries } from '../config/index.ts';
import { MeshController } from '../control/controller.ts';
import { localTraffic, meshTrafficBackend } from '../control/traffic/backend.ts';
import { TrafficStore, type Reporter } from '../control/traffic/store.ts';
import { LatencyHistogram } from '../lib/latency-histogram.ts';
import { readYamlInputs } from '../sources/files/read-yaml.ts';
import { sequentialAddresses, snapshotFromDocuments } from '../sources/files/snapshot.ts';
import { collectView } from './collect.ts';
import { localDashboardSource } from './local-source.ts';
import type { DashboardView, GraphEdge } from './view-types.ts';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'bookstore');
const W = (name: string) => `workload:bookstore/Deployment/${name}`;
const ROOT = 'service:bookstore/bookstore';

async function bookstore(): Promise<{ controller: MeshController; store: TrafficStore }> {
  const files = readdirSync(EXAMPLE).filter((f) => f.endsWith('.yaml')).map((f) => join(EXAMPLE, f));
  const { documents } = await readYamlInputs(files);
  const controller = new MeshController();
  controller.update(snapshotFromDocuments(documents.map((d) => d.value), { allocate: sequentialAddresses() }));
  controller.rebuild();
  // What the demo's sidecars ask for at their applications' first calls.
  for (const [pod, host] of [['buyer-0', 'bookstore'], ['thief-0', 'bookstore'], ['bookstore-v1-0', 'warehouse'], ['bookstore-v2-0', 'warehouse']]) controller.demand(`bookstore/${pod}`, { hosts: [host as string] });
  return { controller, store: new TrafficStore() };
}

const reporter = (pod: string, deployment: string): Reporter => ({ namespace: 'bookstore', pod, kind: 'Deployment', name: deployment });
const peer = (r: Reporter) => ({ namespace: r.namespace, pod: r.pod, kind: r.kind, name: r.name });
const latency = (ms: number, count: number): TrafficSeries['latency'] => {
  const h = new LatencyHistogram();
  for (let i = 0; i < count; i++) h.add(ms);
  return h.pairs() as TrafficSeries['latency'];
};
const buyer = reporter('buyer-0', 'buyer');
const thief = reporter('thief-0', 'thief');
const v1 = reporter('bookstore-v1-0', 'bookstore-v1');
const v2 = reporter('bookstore-v2-0', 'bookstore-v2');
const warehouse = reporter('warehouse-0', 'warehouse');

/** Ten seconds of the demo: the buyer through the split (90 to v1, 10 to v2), the thief refused, v1 restocking. */
function feed(store: TrafficStore, now: number): void {
  const split = { service: 'bookstore/bookstore' };
  store.ingest(buyer, [
    { direction: 'outbound', peer: peer(v1), ...split, backend: 'bookstore/bookstore-v1', success: 89, failure: 1, denied: 0, latency: latency(8, 90) },
    { direction: 'outbound', peer: peer(v2), ...split, backend: 'bookstore/bookstore-v2', success: 10, failure: 0, denied: 0, latency: latency(12, 10) },
    // And 5 calls straight to bookstore-v1's own Service, not through the split.
    { direction: 'outbound', peer: peer(v1), service: 'bookstore/bookstore-v1', backend: 'bookstore/bookstore-v1', success: 5, failure: 0, denied: 0, latency: latency(8, 5) },
  ], now);
  store.ingest(thief, [{ direction: 'outbound', peer: peer(v1), ...split, backend: 'bookstore/bookstore-v1', success: 0, failure: 0, denied: 20, latency: latency(1, 20) }], now);
  store.ingest(v1, [
    { direction: 'inbound', peer: peer(buyer), service: 'bookstore/bookstore', success: 94, failure: 1, denied: 0, latency: latency(7, 95) },
    { direction: 'inbound', peer: peer(thief), service: 'bookstore/bookstore', success: 0, failure: 0, denied: 20, latency: [] },
    { direction: 'outbound', peer: peer(warehouse), service: 'bookstore/warehouse', backend: 'bookstore/warehouse', success: 4, failure: 0, denied: 0, latency: latency(5, 4) },
  ], now);
  store.ingest(v2, [{ direction: 'inbound', peer: peer(buyer), service: 'bookstore/bookstore', success: 10, failure: 0, denied: 0, latency: latency(11, 10) }], now);
  store.ingest(warehouse, [{ direction: 'inbound', peer: peer(v1), service: 'bookstore/warehouse', success: 4, failure: 0, denied: 0, latency: latency(4, 4) }], now);
}

async function view(): Promise<DashboardView> {
  const { controller, store } = await bookstore();
  feed(store, Date.now());
  const source = localDashboardSource(controller, meshTrafficBackend(localTraffic(controller, store)));
  return collectView(source);
}

const edgeOf = (v: DashboardView, source: string, target: string, kind?: GraphEdge['kind']) =>
  v.edges.find((e) => e.source === source && e.target === target && (!kind || e.kind === kind));

test('nodes: every workload grouped by namespace, the split root as a service; the idle ones marked', async () => {
  const v = await view();
  deepStrictEqual(v.nodes.map((n) => n.id), [ROOT, W('bookstore-v1'), W('bookstore-v2'), W('buyer'), W('thief'), W('warehouse')]);
  ok(v.nodes.every((n) => n.namespace === 'bookstore'));
  ok(v.nodes.every((n) => !n.idle), 'every node carries traffic here');
});

test('a call through the split is drawn client → root → backend, with configured and observed shares', async () => {
  const v = await view();
  const into = edgeOf(v, W('buyer'), ROOT, 'split');
  equal(into?.traffic?.requests, 100);
  equal(into?.traffic?.successRate, 0.99);
  equal(into?.access, 'allowed');
  const toV1 = edgeOf(v, ROOT, W('bookstore-v1'), 'backend');
  equal(toV1?.configuredPercent, 90);
  // The split's backend totals include the thief's 20 refused requests: 110 of 120 went to v1.
  equal(toV1?.observedPercent, 91.7);
  equal(edgeOf(v, ROOT, W('bookstore-v2'), 'backend')?.configuredPercent, 10);
  const panel = v.splits[0];
  equal(panel?.split, 'bookstore/bookstore');
  deepStrictEqual(panel?.backends.map((b) => [b.service, b.configuredPercent, b.observedPercent]), [['bookstore/bookstore-v1', 90, 91.7], ['bookstore/bookstore-v2', 10, 8.3]]);
  deepStrictEqual(panel?.conditions.map((c) => `${c.type}=${c.status}`), ['Accepted=True', 'ResolvedRefs=True', 'Programmed=False']);
});

test('the direct edge keeps only what did not go through the split, counted once though both ends reported it', async () => {
  const v = await view();
  const direct = edgeOf(v, W('buyer'), W('bookstore-v1'), 'traffic');
  equal(direct?.traffic?.requests, 5, 'the 5 calls to bookstore-v1 itself');
  equal(edgeOf(v, W('buyer'), W('bookstore-v2'), 'traffic'), undefined, 'everything to v2 went through the split');
  const restock = edgeOf(v, W('bookstore-v1'), W('warehouse'), 'traffic');
  equal(restock?.traffic?.requests, 4);
  equal(restock?.traffic?.rps, 0.4);
  equal(restock?.access, 'allowed');
});

test('denials: the thief\'s edge is denied and no TrafficTarget allows it; allowed pairs nobody used are listed', async () => {
  const v = await view();
  const thiefEdge = edgeOf(v, W('thief'), ROOT, 'split');
  equal(thiefEdge?.denied, true);
  equal(thiefEdge?.traffic?.denied, 20);
  equal(thiefEdge?.traffic?.successRate, null);
  equal(thiefEdge?.access, 'not-allowed');
  ok(v.edges.filter((e) => e.kind === 'backend').every((e) => !e.denied), 'the denial is drawn on the client\'s edge only');
  const unused = v.edges.filter((e) => e.kind === 'allowed-unused').map((e) => `${e.source}>${e.target}`);
  deepStrictEqual(unused, [`${W('bookstore-v2')}>${W('warehouse')}`]);
});

test('workloads: their pods, proxy state and refused configs', async () => {
  const v = await view();
  const buyerPanel = v.workloads.find((w) => w.id === W('buyer'));
  equal(buyerPanel?.identity, 'spiffe://cluster.local/ns/bookstore/sa/buyer');
  equal(buyerPanel?.pods.length, 1);
  equal(buyerPanel?.pods[0]?.connected, false, 'no sidecar connected in this test');
  ok(buyerPanel?.pods[0]?.desired, 'the config it should have');
});

test('with no traffic every node is idle and only access pairs are drawn', async () => {
  const { controller, store } = await bookstore();
  const v = await collectView(localDashboardSource(controller, meshTrafficBackend(localTraffic(controller, store))));
  ok(v.nodes.every((n) => n.idle));
  ok(v.edges.every((e) => (e.traffic?.requests ?? 0) === 0));
  ok(v.edges.some((e) => e.kind === 'allowed-unused' && e.source === W('buyer') && e.target === ROOT));
});
