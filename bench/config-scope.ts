/**
 * bench/config-scope: what a proxy's config and one TrafficSplit weight change cost in bytes,
 * today (every proxy holds every Service) against per-Service entries scoped to what a proxy
 * calls (issue 17's design; the entries are translate's `buildOutboundEntries`), side by side
 * on the same generated mesh. Model only: no network, no processes.
 *
 * Method: the generated mesh of bench/generate-mesh.ts (defaults 10,000 services, 50,000
 * pods, 2,000 splits). "Calls" are what TrafficTargets allow each workload to call (3 to 5
 * Services here), or CALLS random Services of its namespace when none. Sizes are the JSON a
 * config stream sends. A weight change edits one split; "today" every proxy's config changes;
 * "scoped" only the subscribers of its root Service change, each receiving either its whole
 * scoped config or a delta. The delta is the real one: both topologies are translated with
 * each subscriber's demand (MeshTranslation.configOf) and diffed (config/delta.ts), and every
 * other proxy's config is checked unchanged.
 *
 *   node bench/config-scope.ts            (npm run bench:config-scope)
 */
import { parseSmiObject } from '../src/api/index.ts';
import { diffConfigs } from '../src/config/index.ts';
import { buildTopology } from '../src/model/index.ts';
import { buildOutboundEntries, outboundOf } from '../src/translate/outbound.ts';
import { PolicyIndex } from '../src/translate/policy-attachment.ts';
import { MeshTranslation, translateAll } from '../src/translate/index.ts';
import { generate, NAMESPACES, PODS_PER_SERVICE, SERVICES_PER_NS } from './generate-mesh.ts';

const CALLS = Number(process.env.CALLS ?? 10);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const gb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : kb(n));

console.log(`bench/config-scope — Node ${process.version}; ${NAMESPACES} namespaces × ${SERVICES_PER_NS} services × ${PODS_PER_SERVICE} pods`);
const snapshot = generate();
const topology = buildTopology(snapshot);
const configs = translateAll(topology);
const first = configs.values().next().value;
if (!first) throw new Error('no proxies');
const fullBytes = Buffer.byteLength(JSON.stringify(first));
const proxies = configs.size;

const entries = buildOutboundEntries(topology, new PolicyIndex(topology));
// What each workload calls: the Services whose pods its identity may reach, else CALLS of its namespace.
const identityOf = new Map(topology.pods.map((p) => [p.key, p.identity]));
const servicesOfIdentity = new Map<string, Set<string>>();
for (const s of topology.services) {
  for (const port of s.ports) for (const e of port.endpoints) {
    const identity = e.pod ? identityOf.get(e.pod) : undefined;
    if (!identity) continue;
    const set = servicesOfIdentity.get(identity) ?? new Set<string>();
    set.add(s.key);
    servicesOfIdentity.set(identity, set);
  }
}
const calls = new Map<string, string[]>();
for (const t of topology.targets) {
  if (!t.destination) continue;
  const destinations = [...(servicesOfIdentity.get(t.destination) ?? [])];
  for (const source of t.sources) calls.set(source, [...new Set([...(calls.get(source) ?? []), ...destinations])]);
}
// A config without its outbound half, in bytes: the part every design sends.
const baseBytes = Buffer.byteLength(JSON.stringify({ ...first, outbound: { services: [], clusters: [] } }));
const outboundBytes = new Map<string, { bytes: number; services: string[] }>();
const scopedBytes: number[] = [];
const subscribers = new Map<string, number>();
for (const pod of topology.pods) {
  if (!pod.meshed) continue;
  const wanted = calls.get(pod.identity) ?? Array.from({ length: CALLS }, (_, i) => `${pod.namespace}/svc-${(i * 7 + pod.name.length) % SERVICES_PER_NS}`);
  const key = wanted.toSorted().join(',');
  let scoped = outboundBytes.get(key);
  if (!scoped) {
    const outbound = outboundOf(entries, wanted);
    scoped = { bytes: Buffer.byteLength(JSON.stringify(outbound)), services: outbound.services.map((x) => `${x.namespace}/${x.name}`) };
    outboundBytes.set(key, scoped);
  }
  scopedBytes.push(baseBytes + scoped.bytes);
  for (const s of scoped.services) subscribers.set(s, (subscribers.get(s) ?? 0) + 1);
}
scopedBytes.sort((a, b) => a - b);
const median = scopedBytes[Math.floor(scopedBytes.length / 2)] ?? 0;
const p99 = scopedBytes[Math.floor(scopedBytes.length * 0.99)] ?? 0;
const tenCalls = Buffer.byteLength(JSON.stringify(outboundOf(entries, [...entries.keys()].slice(0, 10))));

const split = topology.splits.find((s) => s.active && s.root);
const root = split?.root ?? '';
const rootSubscribers = subscribers.get(root) ?? 0;

// The weight change, translated for real: every proxy's config before and after, with its demand.
const backends = split?.ports[0]?.backends ?? [];
const edited = parseSmiObject({
  apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', metadata: { name: split?.name, namespace: split?.namespace },
  spec: { service: root.split('/')[1], backends: backends.map((b, i) => ({ service: b.service.split('/')[1], weight: i === 0 ? 50 : 50 })) },
});
const before = new MeshTranslation(topology);
const after = new MeshTranslation(buildTopology({ ...snapshot, smi: snapshot.smi.map((o) => (o.kind === 'TrafficSplit' && o.ref.namespace === split?.namespace && o.ref.name === split?.name ? edited : o)) }));
let deltaBytes = 0;
let changed = 0;
let wholeBytes = 0;
const deltaStarted = performance.now();
for (const pod of topology.pods) {
  if (!pod.meshed) continue;
  const demand = { services: new Set(calls.get(pod.identity) ?? Array.from({ length: CALLS }, (_, i) => `${pod.namespace}/svc-${(i * 7 + pod.name.length) % SERVICES_PER_NS}`)), tcp: false };
  const a = before.configOf(pod.key, demand);
  const b = after.configOf(pod.key, demand);
  if (!a || !b || a.hash === b.hash) continue;
  changed++;
  deltaBytes += Buffer.byteLength(JSON.stringify(diffConfigs(a, b)));
  wholeBytes += Buffer.byteLength(JSON.stringify(b));
}
const deltaMs = performance.now() - deltaStarted;
if (changed !== rootSubscribers) throw new Error(`${changed} configs changed, but ${root} has ${rootSubscribers} subscribers`);
const entryBytes = deltaBytes / Math.max(1, changed);

console.log(`method: sizes of the JSON each design sends; a weight change on TrafficSplit ${split?.key ?? '-'} (root ${root}, ${rootSubscribers} subscribers)`);
console.log('');
console.log('                                   today (every Service)     scoped (per-Service entries)   ratio');
console.log(`config of one proxy (median)       ${kb(fullBytes).padEnd(26)}${kb(median).padEnd(31)}${(fullBytes / Math.max(1, median)).toFixed(0)}×`);
console.log(`config of one proxy (p99)          ${kb(fullBytes).padEnd(26)}${kb(p99).padEnd(31)}${(fullBytes / Math.max(1, p99)).toFixed(0)}×`);
console.log(`outbound of a proxy calling 10     ${kb(Buffer.byteLength(JSON.stringify(first.outbound))).padEnd(26)}${kb(tenCalls).padEnd(31)}`);
console.log(`one full push to ${String(proxies).padEnd(18)}${gb(fullBytes * proxies).padEnd(26)}${gb(scopedBytes.reduce((a, b) => a + b, 0)).padEnd(31)}`);
console.log(`one weight change: configs sent    ${String(proxies).padEnd(26)}${String(rootSubscribers).padEnd(31)}`);
console.log(`one weight change: bytes (whole)   ${gb(fullBytes * proxies).padEnd(26)}${gb(wholeBytes).padEnd(31)}`);
console.log(`one weight change: bytes (delta)   ${'-'.padEnd(26)}${gb(deltaBytes).padEnd(31)}(${kb(entryBytes)} per subscriber; target ≤ 2 KB)`);
console.log(`(every one of the ${proxies} configs computed before and after the change with its demand, ${(deltaMs / 1000).toFixed(1)} s: exactly the ${changed} subscribers changed)`);
