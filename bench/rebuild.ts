/**
 * bench/rebuild: what one change costs the controller in a large mesh — a rebuild on the
 * previous one (incremental) against a rebuild from scratch of the same content, in one run.
 *
 * Method: the generated mesh (bench/generate-mesh.ts: 10,000 Services, 50,000 meshed pods,
 * 2,000 TrafficSplits, 5,000 TrafficTargets) in a MeshController; every proxy resolves on
 * demand and has subscribed to CALLS Services of its namespace (as bench/config-scope). Then,
 * RUNS times each, timed around MeshController.rebuild() (model + translation + every
 * proxy's config compared; no network):
 *   - weight edit, incremental: one split's weights change, the snapshot keeps every other
 *     array (as the Kubernetes source hands them over);
 *   - weight edit, from scratch: the same edit in new arrays (nothing can be reused: what
 *     every rebuild cost before);
 *   - endpoint change: one pod turns unready, and its EndpointSlice says so (new pods and
 *     slices arrays with one new object each, as the Kubernetes source hands them over: the
 *     model updates that pod and the Services it concerns, the translation keeps the rest);
 *   - Service change: that pod's Service applied with another port number (a new services
 *     array with one new object: the model updates it and the pods it selects).
 * Reported: median and max per kind, the proxies whose config changed, RSS. Then, with every
 * proxy acked: the /v1/acks answer a leader gets from this replica, whole and as the changes
 * since its last answer after one weight edit (its callers acked the new version).
 *
 *   node --expose-gc bench/rebuild.ts [RUNS]           (npm run bench:rebuild)
 */
import { MeshController } from '../src/control/controller.ts';
import type { Snapshot } from '../src/model/index.ts';
import { generate, NAMESPACES, PODS_PER_SERVICE, SERVICES_PER_NS, withCanaryWeight } from './generate-mesh.ts';

const RUNS = Number(process.argv[2] ?? 5);
const CALLS = 10;
/** A pod of ns-1/svc-15 (pods are generated namespace by namespace, Service by Service): the weight-edited split's root, so its callers see the endpoint change. */
const ENDPOINT_POD = SERVICES_PER_NS * PODS_PER_SERVICE + 15 * PODS_PER_SERVICE;
const gc = (globalThis as { gc?: () => void }).gc;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(`bench/rebuild — Node ${process.version}; ${NAMESPACES} namespaces × ${SERVICES_PER_NS} Services × ${PODS_PER_SERVICE} pods; every proxy subscribed to ${CALLS} Services; ${RUNS} runs per kind`);
let snapshot = generate();
const controller = new MeshController();
let t0 = performance.now();
controller.update(snapshot);
controller.rebuild();
console.log(`first build: ${(performance.now() - t0).toFixed(0)} ms, ${controller.proxies.size} proxies`);
t0 = performance.now();
for (const id of controller.proxies.keys()) {
  const [ns = '', pod = ''] = id.split('/');
  controller.demand(id, { services: Array.from({ length: CALLS }, (_, i) => `${ns}/svc-${(i * 7 + pod.length) % SERVICES_PER_NS}`), tcp: false }, false);
}
console.log(`subscriptions of every proxy: ${(performance.now() - t0).toFixed(0)} ms`);

let changed = 0;
controller.on('changed', (ids) => { changed += ids.length; });
/** One rebuild of `next`, timed; the proxies whose config changed. */
const timed = (next: Snapshot): { ms: number; changed: number } => {
  gc?.();
  changed = 0;
  const started = performance.now();
  controller.update(next);
  controller.rebuild();
  return { ms: performance.now() - started, changed };
};
const fresh = (s: Snapshot): Snapshot => ({ ...s, services: [...s.services], pods: [...s.pods], endpointSlices: [...s.endpointSlices], namespaces: [...s.namespaces], smi: [...s.smi] });

const kinds: Record<string, { ms: number[]; changed: number[] }> = { 'weight edit, incremental': { ms: [], changed: [] }, 'weight edit, from scratch': { ms: [], changed: [] }, 'endpoint change (a pod unready)': { ms: [], changed: [] }, 'Service change (a port renumbered)': { ms: [], changed: [] } };
const record = (kind: string, r: { ms: number; changed: number }) => {
  kinds[kind]?.ms.push(r.ms);
  kinds[kind]?.changed.push(r.changed);
};
for (let run = 0; run < RUNS; run++) {
  const canary = 20 + run * 2;
  snapshot = withCanaryWeight(snapshot, canary, (ns, k) => ns === 'ns-1' && k === 5);
  record('weight edit, incremental', timed(snapshot));
  snapshot = fresh(withCanaryWeight(snapshot, canary + 1, (ns, k) => ns === 'ns-1' && k === 5));
  timed(snapshot); // new arrays: primes nothing, rebuilds everything
  snapshot = fresh(withCanaryWeight(snapshot, canary, (ns, k) => ns === 'ns-1' && k === 5));
  record('weight edit, from scratch', timed(snapshot));
  // As a cluster reports it: the Pod's readiness, then its EndpointSlice (both in the one rebuild here).
  const ready = run % 2 !== 0;
  const changedPod = snapshot.pods[ENDPOINT_POD] as (typeof snapshot.pods)[number];
  const pods = snapshot.pods.map((p, i) => (i === ENDPOINT_POD ? { ...p, ready } : p));
  const endpointSlices = snapshot.endpointSlices.map((sl) => (sl.namespace === changedPod.namespace && sl.endpoints.some((e) => e.pod === changedPod.name)
    ? { ...sl, endpoints: sl.endpoints.map((e) => (e.pod === changedPod.name ? { ...e, ready } : e)) } : sl));
  snapshot = { ...snapshot, pods, endpointSlices };
  record('endpoint change (a pod unready)', timed(snapshot));
  // A Service applied with another port (a new services array with one new object, as the Kubernetes source hands it over).
  const at = snapshot.services.findIndex((s) => s.namespace === changedPod.namespace && s.name === 'svc-15');
  const original = snapshot.services;
  const services = original.map((s, i) => (i === at ? { ...s, ports: s.ports.map((p, k) => (k === 0 ? { ...p, port: p.port + 1 } : p)) } : s));
  record('Service change (a port renumbered)', timed({ ...snapshot, services }));
  snapshot = { ...snapshot, services: original };
  timed(snapshot); // and back (the split's backends share the root's port)
}
console.log('');
console.log('change                             median      max   configs changed');
for (const [kind, r] of Object.entries(kinds)) console.log(`${kind.padEnd(34)} ${`${median(r.ms).toFixed(0)} ms`.padStart(7)} ${`${Math.max(...r.ms).toFixed(0)} ms`.padStart(8)}   ${median(r.changed)}`);
const speedup = median(kinds['weight edit, from scratch']?.ms ?? []) / median(kinds['weight edit, incremental']?.ms ?? []);
console.log(`\nweight edit: incremental ${speedup.toFixed(1)}× faster than from scratch; RSS ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB`);

// Status across replicas: what the leader, asking this replica every 2 s, moves whole and as changes (GET /v1/acks).
for (const r of controller.proxies.values()) controller.acknowledge(r.id, { hash: r.config.hash });
t0 = performance.now();
const whole = controller.acksSince();
const wholeBytes = Buffer.byteLength(JSON.stringify(whole));
const wholeMs = performance.now() - t0;
let editedIds: string[] = [];
controller.once('changed', (ids) => { editedIds = ids; });
timed(withCanaryWeight(snapshot, 77, (ns, k) => ns === 'ns-1' && k === 5));
for (const id of editedIds) controller.acknowledge(id, { hash: controller.proxies.get(id)?.config.hash as string });
t0 = performance.now();
const delta = controller.acksSince({ epoch: whole.epoch, seq: whole.seq });
const deltaBytes = Buffer.byteLength(JSON.stringify(delta));
const deltaMs = performance.now() - t0;
console.log(`peer acks (GET /v1/acks, every 2 s): whole ${(wholeBytes / 1024 / 1024).toFixed(1)} MB in ${wholeMs.toFixed(0)} ms; after a weight edit acked by its ${editedIds.length} proxies, the changes since: ${(deltaBytes / 1024).toFixed(0)} KB (${Object.keys(delta.acks).length} entries) in ${deltaMs.toFixed(0)} ms`);
