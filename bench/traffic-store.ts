/**
 * bench/traffic-store: how much memory the controller's traffic store holds at its cap, and
 * how long a TrafficMetrics query over a full store takes.
 *
 * Method: PODS reporting pods, each with PEERS peer series per report (half inbound, half
 * outbound), LATENCY_BUCKETS occupied latency buckets per series (a request spread of about
 * 1.5 decades at 1 % accuracy is ~170 buckets; 30 is typical of one edge in 5 s), one report
 * every 5 s for the 5 minutes kept; past its byte budget (DEFAULT_MAX_BYTES) the store drops
 * its oldest slots. Heap is measured after a forced GC, before and after filling, and set
 * beside the store's own estimate; the query is a namespace-wide `deployments` list and one
 * deployment's edges over everything held, median of 5.
 *
 *   node --expose-gc bench/traffic-store.ts [PODS] [PEERS] [LATENCY_BUCKETS]   (npm run bench:traffic)
 */
import { DEFAULT_MAX_BYTES, RETENTION_MS, SLOT_MS, TrafficStore } from '../src/control/traffic/store.ts';
import { trafficMetrics } from '../src/control/traffic/query.ts';
import type { Catalog, PodFacts } from '../src/control/traffic/kinds.ts';
import type { TrafficSeries } from '../src/config/index.ts';

const PODS = Number(process.argv[2] ?? 2000);
const PEERS = Number(process.argv[3] ?? 10);
const BUCKETS = Number(process.argv[4] ?? 30);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

console.log(`bench/traffic-store — Node ${process.version}; ${PODS} pods × ${PEERS} series per report × ${BUCKETS} latency buckets; reports every ${SLOT_MS / 1000}s kept ${RETENTION_MS / 60_000} min; budget ${mb(DEFAULT_MAX_BYTES)}`);
const pods = new Map<string, PodFacts>();
for (let i = 0; i < PODS; i++) pods.set(`ns-${i % 50}/pod-${i}`, { namespace: `ns-${i % 50}`, name: `pod-${i}`, labels: {}, owners: [{ kind: 'Deployment', name: `deploy-${i % 400}` }], services: [`svc-${i % 400}`] });
const catalog: Catalog = { pods, namespaceLabels: new Map(), serviceLabels: new Map(), splits: [] };
const reporters = [...pods.values()].map((p) => ({ namespace: p.namespace, pod: p.name, kind: 'Deployment', name: p.owners[0]?.name ?? '' }));
const reportOf = (i: number): TrafficSeries[] => Array.from({ length: PEERS }, (_, k) => {
  const peer = (i + k + 1) % PODS;
  return {
    direction: k % 2 ? 'outbound' : 'inbound', peer: { namespace: `ns-${peer % 50}`, pod: `pod-${peer}`, kind: 'Deployment', name: `deploy-${peer % 400}` },
    service: `ns-${peer % 50}/svc-${peer % 400}`, success: 100, failure: 1, denied: 0,
    latency: Array.from({ length: BUCKETS }, (_, b) => [150 + b, 3] as [number, number]),
  };
});

gc();
const before = process.memoryUsage().heapUsed;
const store = new TrafficStore();
const start = Date.now() - RETENTION_MS + SLOT_MS;
let reports = 0;
for (let t = start; t <= Date.now(); t += SLOT_MS) {
  for (let i = 0; i < PODS; i++) {
    store.ingest(reporters[i] as never, reportOf(i), t);
    reports++;
  }
}
gc();
const held = process.memoryUsage().heapUsed - before;
const covered = store.window(RETENTION_MS).coveredMs;
console.log(`after ${reports} reports: ${store.size} series held (${store.evicted} evicted with the oldest slots, ${store.dropped} refused), covering the last ${(covered / 1000).toFixed(0)} s`);
console.log(`heap held ${mb(held)} (the store's estimate ${mb(store.bytes)}) = ${Math.round(held / store.size)} bytes per series`);
const times: number[] = [];
let items = 0;
for (let run = 0; run < 5; run++) {
  const t0 = performance.now();
  items = trafficMetrics(store.window(RETENTION_MS).entries, catalog, { resource: 'deployments', namespace: 'ns-1', edges: false, windowMs: RETENTION_MS, now: Date.now() }).items.length;
  trafficMetrics(store.window(RETENTION_MS).entries, catalog, { resource: 'deployments', namespace: 'ns-1', name: 'deploy-1', edges: true, windowMs: RETENTION_MS, now: Date.now() });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(`query over the full store (a namespace's ${items} deployments + one deployment's edges): median ${times[2]?.toFixed(0)} ms, max ${times[4]?.toFixed(0)} ms`);
