import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from '../../lib/latency-histogram.ts';
import type { Catalog, PodFacts } from './kinds.ts';
import { formatWindow, quantity, trafficMetrics, type TrafficMetrics } from './query.ts';
import type { Reporter, StoredSeries } from './store.ts';

const pod = (name: string, deployment: string, services: string[], labels: Record<string, string> = {}): PodFacts => ({
  namespace: 'shop', name, labels, node: 'node-1', owners: [{ kind: 'ReplicaSet', name: `${deployment}-5d8f` }, { kind: 'Deployment', name: deployment }], services,
});
const catalog: Catalog = {
  pods: new Map([
    ['shop/buyer-0', pod('buyer-0', 'buyer', [], { app: 'buyer' })],
    ['shop/web-v1-0', pod('web-v1-0', 'web-v1', ['web', 'web-v1'], { app: 'web' })],
    ['shop/web-v2-0', pod('web-v2-0', 'web-v2', ['web', 'web-v2'], { app: 'web' })],
  ]),
  namespaceLabels: new Map([['shop', {}]]), serviceLabels: new Map(),
  splits: [{ namespace: 'shop', name: 'web', apex: 'web', backends: [{ service: 'web-v1', weight: 90 }, { service: 'web-v2', weight: 10 }], labels: {} }],
};
const reporter = (p: string, deployment: string): Reporter => ({ namespace: 'shop', pod: p, kind: 'Deployment', name: deployment });
const latencies = (...ms: number[]) => {
  const h = new LatencyHistogram();
  for (const v of ms) h.add(v);
  return Int32Array.from(h.pairs().flat());
};
const series = (r: Reporter, direction: 'inbound' | 'outbound', peer: StoredSeries['peer'], counts: [number, number, number], ms: number[], extra: Partial<StoredSeries> = {}): StoredSeries =>
  ({ reporter: r, direction, peer, success: counts[0], failure: counts[1], denied: counts[2], latency: latencies(...ms), at: 0, ...extra });

const buyer = reporter('buyer-0', 'buyer');
const v1 = reporter('web-v1-0', 'web-v1');
const v2 = reporter('web-v2-0', 'web-v2');
const peerOf = (r: Reporter) => ({ namespace: r.namespace, pod: r.pod, kind: r.kind, name: r.name });
const entries: StoredSeries[] = [
  // The buyer's sidecar: 9 requests to web via v1, 1 to v2 (client side).
  series(buyer, 'outbound', peerOf(v1), [8, 1, 0], [10, 10, 10, 10, 10, 10, 10, 10, 500], { service: 'shop/web', backend: 'shop/web-v1' }),
  series(buyer, 'outbound', peerOf(v2), [1, 0, 0], [20], { service: 'shop/web', backend: 'shop/web-v2' }),
  // The web pods' sidecars (server side), plus 3 denials of a caller from another namespace and 2 plaintext requests.
  series(v1, 'inbound', peerOf(buyer), [8, 1, 0], [9, 9, 9, 9, 9, 9, 9, 9, 499], { service: 'shop/web' }),
  series(v1, 'inbound', { namespace: 'other', pod: 'spy-0', kind: 'Deployment', name: 'spy' }, [0, 0, 3], [], { service: 'shop/web' }),
  series(v1, 'inbound', {}, [2, 0, 0], [1, 1]),
  series(v2, 'inbound', peerOf(buyer), [1, 0, 0], [19], { service: 'shop/web' }),
];
const metric = (m: TrafficMetrics | undefined, name: string) => m?.metrics.find((x) => x.name === name)?.value;
const query = (q: Partial<Parameters<typeof trafficMetrics>[2]>) => trafficMetrics(entries, catalog, { resource: 'deployments', edges: false, windowMs: 30_000, now: Date.UTC(2026, 10, 30), ...q });

test('a kind lists every resource with meshed pods; metrics are what its pods received', () => {
  const list = query({ namespace: 'shop' });
  deepStrictEqual(list.items.map((i) => i.resource.name), ['buyer', 'web-v1', 'web-v2']);
  const [b, w1] = list.items;
  equal(metric(b, 'success_count'), '0', 'the buyer received nothing');
  equal(metric(b, 'p50_response_latency'), undefined, 'no latency without requests');
  equal(metric(w1, 'success_count'), '10');
  equal(metric(w1, 'failure_count'), '1');
  equal(metric(w1, 'denied_count'), '3');
  equal(w1?.window, '30s');
  equal(w1?.metrics.find((m) => m.name === 'p99_response_latency')?.unit, 'ms');
  // Its 11 timed requests: 1, 1, 9 ×8, 499; p99 is rank ⌊0.99·10⌋ = 9 → 9 ms (within 1 %).
  const p99 = Number(metric(w1, 'p99_response_latency')?.slice(0, -1)) / 1000;
  ok(Math.abs(p99 - 9) / 9 <= 0.01, String(p99));
});

test('edges name the other end in the same kind, from both ends of each request', () => {
  const edges = query({ namespace: 'shop', name: 'web-v1', edges: true }).items;
  const view = edges.map((e) => [e.edge?.direction, e.edge?.side, e.edge?.resource.kind, e.edge?.resource.name ?? e.edge?.resource.namespace ?? '', metric(e, 'success_count'), metric(e, 'denied_count')]);
  deepStrictEqual(view, [
    ['from', 'client', 'Deployment', 'buyer', '8', '0'],
    ['from', 'server', undefined, '', '2', '0'],
    ['from', 'server', 'Deployment', 'spy', '0', '3'],
    ['from', 'server', 'Deployment', 'buyer', '8', '0'],
  ]);
  const buyerEdges = query({ namespace: 'shop', name: 'buyer', edges: true }).items;
  const to = buyerEdges.filter((e) => e.edge?.direction === 'to').map((e) => [e.edge?.side, e.edge?.resource.name, metric(e, 'success_count'), metric(e, 'failure_count')]);
  deepStrictEqual(to, [['client', 'web-v1', '8', '1'], ['client', 'web-v2', '1', '0'], ['server', 'web-v1', '8', '1'], ['server', 'web-v2', '1', '0']]);
  const pods = query({ namespace: 'shop', name: 'buyer', edges: true, edgeKind: 'pods' }).items;
  ok(pods.every((e) => e.edge?.resource.kind === 'Pod'), 'edgeKind names the other ends as pods');
});

test('a TrafficSplit has one item per backend with apex, name and weight: what clients sent through it', () => {
  const list = query({ resource: 'trafficsplits', namespace: 'shop', name: 'web' });
  deepStrictEqual(list.items.map((i) => [i.backend, metric(i, 'success_count'), metric(i, 'failure_count')]), [
    [{ apex: 'web', name: 'web-v1', weight: 90 }, '8', '1'],
    [{ apex: 'web', name: 'web-v2', weight: 10 }, '1', '0'],
  ]);
  const edges = query({ resource: 'trafficsplits', namespace: 'shop', name: 'web', edges: true }).items;
  deepStrictEqual(edges.map((e) => [e.backend?.name, e.edge?.direction, e.edge?.side, e.edge?.resource.name]), [['web-v1', 'from', 'client', 'buyer'], ['web-v2', 'from', 'client', 'buyer']]);
});

test('other kinds aggregate the same pods: services, namespaces, nodes, replicasets, pods', () => {
  const count = (resource: Parameters<typeof query>[0]['resource'], name: string) => metric(query({ resource, ...(resource === 'namespaces' || resource === 'nodes' ? {} : { namespace: 'shop' }) }).items.find((i) => i.resource.name === name), 'success_count');
  equal(count('services', 'web'), '11', 'web selects both versions');
  equal(count('services', 'web-v2'), '1');
  equal(count('namespaces', 'shop'), '11');
  equal(count('nodes', 'node-1'), '11');
  equal(count('replicasets', 'web-v1-5d8f'), '10');
  equal(count('pods', 'web-v2-0'), '1');
  equal(query({ resource: 'statefulsets', namespace: 'shop' }).items.length, 0);
});

test('a label selector filters the items, not the traffic; another namespace sees nothing', () => {
  const list = query({ resource: 'pods', namespace: 'shop', selected: (ns, name) => catalog.pods.get(`${ns}/${name}`)?.labels.app === 'web' });
  deepStrictEqual(list.items.map((i) => i.resource.name), ['web-v1-0', 'web-v2-0']);
  equal(query({ namespace: 'elsewhere' }).items.length, 0);
});

test('quantities and windows are written as Kubernetes writes them', () => {
  equal(quantity(12), '12');
  equal(quantity(296.875), '296875m');
  equal(quantity(0.0004), '0');
  equal(formatWindow(30_000), '30s');
  equal(formatWindow(120_000), '2m');
});
