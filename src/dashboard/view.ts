/**
 * The dashboard's view model (pure): the mesh's topology, its proxies and TrafficMetrics in,
 * the service graph and its panels out (view-types.ts).
 *
 * - Nodes are workloads (a Deployment, StatefulSet, ... or a bare pod) grouped by namespace,
 *   every split's root Service, and whatever traffic names outside the topology.
 * - Traffic between workloads comes from TrafficMetrics edges of the workload kinds: the
 *   caller's sidecar's count when it has one (what the application saw), else the callee's.
 * - A call through a TrafficSplit is drawn as client → root Service → backend workload (the
 *   split's own metrics), and taken out of the direct client → workload edge it also shows up on.
 * - Access (who may call whom) is what `skiff explain` computes from TrafficTargets.
 */
import type { StatusTarget } from '../control/status.ts';
import type { ObjectReference } from '../control/traffic/kinds.ts';
import type { TrafficMetrics } from '../control/traffic/query.ts';
import { parseQuantity } from '../lib/quantity.ts';
import type { PodNode, Topology } from '../model/index.ts';
import { explain } from '../translate/explain.ts';
import type { AccessPair, DashboardView, EdgeTraffic, GraphEdge, GraphNode, ProxyPanel, SplitPanel, WorkloadPanel } from './view-types.ts';

/** What the control plane says of one proxy (its /debug/proxies entry). */
export interface ProxyFacts {
  proxy: string;
  connected: boolean;
  upToDate: boolean;
  desired: string | null;
  applied: string | null;
  lastError: string | null;
  certificateNotAfter?: string | null;
}

export interface DashboardInputs {
  now: number;
  windowSeconds: number;
  topology: Topology | null;
  proxies: readonly ProxyFacts[];
  problems: readonly string[];
  statuses: readonly StatusTarget[];
  /** TrafficMetrics edge items of every workload kind in the mesh (…/<kind>/edges, all namespaces). */
  workloadEdges: readonly TrafficMetrics[];
  /** TrafficSplit items per backend (…/trafficsplits). */
  splitTotals: readonly TrafficMetrics[];
  /** TrafficSplit edge items: which client sent how much to each backend (…/trafficsplits/<name>/edges). */
  splitEdges: readonly TrafficMetrics[];
}

interface Counts { success: number; failure: number; denied: number; p99: number | null }

const workloadId = (namespace: string, kind: string, name: string) => `workload:${namespace}/${kind}/${name}`;
const serviceId = (key: string) => `service:${key}`;

function countsOf(m: TrafficMetrics): Counts {
  const value = (name: string) => {
    const v = m.metrics.find((x) => x.name === name)?.value;
    return v === undefined ? undefined : parseQuantity(v);
  };
  return { success: value('success_count') ?? 0, failure: value('failure_count') ?? 0, denied: value('denied_count') ?? 0, p99: value('p99_response_latency') ?? null };
}

const zero = (): Counts => ({ success: 0, failure: 0, denied: 0, p99: null });
const total = (c: Counts) => c.success + c.failure + c.denied;

function trafficOf(c: Counts, windowSeconds: number): EdgeTraffic {
  const requests = total(c);
  const answered = c.success + c.failure;
  return {
    requests, rps: Math.round((requests / Math.max(1, windowSeconds)) * 100) / 100,
    successRate: answered > 0 ? Math.round((c.success / answered) * 10_000) / 10_000 : null,
    p99Ms: c.p99, failures: c.failure, denied: c.denied,
  };
}

function add(into: Counts, c: Counts): void {
  into.success += c.success;
  into.failure += c.failure;
  into.denied += c.denied;
  if (c.p99 !== null) into.p99 = Math.max(into.p99 ?? 0, c.p99);
}

export function dashboardView(input: DashboardInputs): DashboardView {
  const topology = input.topology;
  const pods = new Map((topology?.pods ?? []).map((p) => [p.key, p]));
  const nodes = new Map<string, GraphNode>();
  const ofPod = (p: PodNode) => workloadId(p.namespace, p.workload.kind, p.workload.name);
  for (const p of topology?.pods ?? []) {
    const id = ofPod(p);
    const have = nodes.get(id);
    if (have) have.meshed ||= p.meshed;
    else nodes.set(id, { id, kind: 'workload', namespace: p.namespace, name: p.workload.name, workloadKind: p.workload.kind, meshed: p.meshed, idle: true });
  }
  /** The node an edge's end names: a known workload, a pod's workload, or something outside the topology. */
  const nodeOf = (ref: ObjectReference): string => {
    const ns = ref.namespace ?? '';
    if (ref.kind === 'Pod' && ref.name) {
      const pod = pods.get(`${ns}/${ref.name}`);
      if (pod) return ofPod(pod);
    } else if (ref.kind && ref.name && nodes.has(workloadId(ns, ref.kind, ref.name))) return workloadId(ns, ref.kind, ref.name);
    const label = ref.name ? `${ns ? `${ns}/` : ''}${ref.name}` : ns ? `outside the mesh (${ns})` : 'outside the mesh';
    const id = `external:${label}`;
    if (!nodes.has(id)) nodes.set(id, { id, kind: 'external', ...(ns ? { namespace: ns } : {}), name: label, meshed: false, idle: true });
    return id;
  };

  // Workloads behind each Service, and the identities each workload runs as.
  const serviceWorkloads = new Map<string, string[]>();
  for (const s of topology?.services ?? []) {
    const ids = new Set<string>();
    for (const port of s.ports) for (const e of port.endpoints) {
      const pod = e.pod ? pods.get(e.pod) : undefined;
      if (pod) ids.add(ofPod(pod));
    }
    serviceWorkloads.set(s.key, [...ids].sort());
  }

  // Direct workload → workload traffic: the caller's side when it reported, else the callee's.
  // Each request shows up in the caller's edges ('to') and in the callee's ('from'); the
  // caller's item is taken when both were asked for, so nothing is counted twice.
  const direct = new Map<string, { source: string; target: string; client?: Counts; server?: Counts }>();
  const taken = new Map<string, 'to' | 'from'>();
  for (const m of input.workloadEdges) {
    if (!m.edge) continue;
    const [source, target] = m.edge.direction === 'to' ? [nodeOf(m.resource), nodeOf(m.edge.resource)] : [nodeOf(m.edge.resource), nodeOf(m.resource)];
    const key = `${source}>${target}`;
    const side = `${key}|${m.edge.side}`;
    const seen = taken.get(side);
    if (seen && seen !== m.edge.direction) {
      if (seen === 'to') continue;
      // A caller's own item arrived after the callee's: it replaces it.
      const pair = direct.get(key);
      if (pair) delete pair[m.edge.side];
    }
    taken.set(side, m.edge.direction);
    const pair = direct.get(key) ?? { source, target };
    const counts = pair[m.edge.side] ?? zero();
    add(counts, countsOf(m));
    pair[m.edge.side] = counts;
    direct.set(key, pair);
  }

  const edges: GraphEdge[] = [];
  const splits: SplitPanel[] = [];
  const conditions = new Map(input.statuses.filter((s) => s.kind === 'TrafficSplit').map((s) => [`${s.namespace}/${s.name}`, s.status.conditions ?? []]));
  const carried = new Map<string, Counts>();
  for (const split of topology?.splits ?? []) {
    const backends = split.ports[0]?.backends ?? [];
    const totals = new Map<string, Counts>();
    for (const m of input.splitTotals) {
      if (m.resource.namespace !== split.namespace || m.resource.name !== split.name || !m.backend) continue;
      totals.set(m.backend.name, countsOf(m));
    }
    const all = [...totals.values()].reduce((a, c) => a + total(c), 0);
    const shareOf = (service: string) => (all > 0 ? Math.round(((total(totals.get(service) ?? zero())) / all) * 1000) / 10 : null);
    const nameOf = (key: string) => key.slice(key.indexOf('/') + 1);
    splits.push({
      split: split.key, root: split.root ?? '', active: split.active,
      conditions: (conditions.get(split.key) ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
      backends: backends.map((b) => ({ service: b.service, configuredPercent: b.percent, observedPercent: shareOf(nameOf(b.service)), rps: trafficOf(totals.get(nameOf(b.service)) ?? zero(), input.windowSeconds).rps })),
    });
    if (!split.active || !split.root) continue;
    const root = serviceId(split.root);
    if (!nodes.has(root)) nodes.set(root, { id: root, kind: 'service', namespace: split.namespace, name: nameOf(split.root), meshed: true, idle: true });
    for (const b of backends) {
      const counts = totals.get(nameOf(b.service));
      for (const target of serviceWorkloads.get(b.service) ?? []) {
        edges.push({
          id: `${root}>${target}`, source: root, target, kind: 'backend', traffic: counts ? trafficOf(counts, input.windowSeconds) : null,
          // Denials show on the client's edge into the root; the backend edge only carries the split.
          denied: false, access: 'unknown', configuredPercent: b.percent, observedPercent: shareOf(nameOf(b.service)), backendService: b.service,
        });
      }
    }
    // Clients into the root, summed over backends; what each sent to a backend's workloads is carried by the split.
    const clients = new Map<string, Counts>();
    for (const m of input.splitEdges) {
      if (m.resource.namespace !== split.namespace || m.resource.name !== split.name || !m.backend || !m.edge) continue;
      const client = nodeOf(m.edge.resource);
      const c = countsOf(m);
      const sum = clients.get(client) ?? zero();
      add(sum, c);
      clients.set(client, sum);
      for (const target of serviceWorkloads.get(`${split.namespace}/${m.backend.name}`) ?? []) {
        const key = `${client}>${target}`;
        const sumCarried = carried.get(key) ?? zero();
        add(sumCarried, c);
        carried.set(key, sumCarried);
      }
    }
    for (const [client, c] of clients) edges.push({ id: `${client}>${root}`, source: client, target: root, kind: 'split', traffic: trafficOf(c, input.windowSeconds), denied: c.denied > 0, access: 'unknown' });
  }

  for (const [key, pair] of direct) {
    const chosen = { ...(pair.client ?? pair.server) as Counts };
    const through = carried.get(key);
    if (through && pair.client) {
      chosen.success = Math.max(0, chosen.success - through.success);
      chosen.failure = Math.max(0, chosen.failure - through.failure);
      chosen.denied = Math.max(0, chosen.denied - through.denied);
    }
    if (total(chosen) <= 0) continue;
    edges.push({ id: key, source: pair.source, target: pair.target, kind: 'traffic', traffic: trafficOf(chosen, input.windowSeconds), denied: chosen.denied > 0, access: 'unknown' });
  }

  // Access: who may call whom, per workload pair and into each split's root.
  const access = topology ? accessOf(topology, serviceWorkloads, ofPod) : [];
  const allowed = new Set(access.map((a) => `${a.source}>${a.target}`));
  const permissive = new Set((topology?.namespaces ?? []).filter((n) => n.accessMode === 'permissive').map((n) => n.name));
  const defaultPermissive = topology?.mesh.defaultAccessMode === 'permissive';
  for (const e of edges) {
    const target = nodes.get(e.target);
    const source = nodes.get(e.source);
    if (e.kind === 'backend' || source?.kind === 'external') e.access = 'unknown';
    else if (allowed.has(`${e.source}>${e.target}`)) e.access = 'allowed';
    else if (target?.kind === 'external' || !target?.meshed) e.access = 'unknown';
    else if (target.namespace && (permissive.has(target.namespace) || (defaultPermissive && !(topology?.namespaces ?? []).some((n) => n.name === target.namespace)))) e.access = 'permissive';
    else e.access = 'not-allowed';
  }
  const used = new Set(edges.filter((e) => (e.traffic?.requests ?? 0) > 0).map((e) => `${e.source}>${e.target}`));
  for (const e of edges) if (e.kind === 'split' && (e.traffic?.requests ?? 0) > 0) for (const b of edges) if (b.kind === 'backend' && b.source === e.target) used.add(`${e.source}>${b.target}`);
  for (const a of access) {
    if (used.has(`${a.source}>${a.target}`) || !nodes.has(a.source) || !nodes.has(a.target)) continue;
    edges.push({ id: `allowed:${a.source}>${a.target}`, source: a.source, target: a.target, kind: 'allowed-unused', traffic: null, denied: false, access: 'allowed' });
  }
  for (const e of edges) {
    if ((e.traffic?.requests ?? 0) <= 0) continue;
    for (const id of [e.source, e.target]) {
      const n = nodes.get(id);
      if (n) n.idle = false;
    }
  }

  return {
    generatedAt: new Date(input.now).toISOString(), windowSeconds: input.windowSeconds,
    namespaces: (topology?.namespaces ?? []).map((n) => ({ name: n.name, accessMode: n.accessMode })).sort((a, b) => a.name.localeCompare(b.name)),
    nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
    edges: edges.sort((a, b) => a.id.localeCompare(b.id)),
    access, splits, workloads: topology ? workloadPanels(topology, input.proxies, ofPod) : [],
    problems: [...input.problems],
  };
}

/**
 * The access pairs depend on the topology alone, and computing them runs `explain` over the
 * whole mesh: once per topology object, not once per view (local mode keeps its topology
 * until the next rebuild).
 */
const accessByTopology = new WeakMap<Topology, AccessPair[]>();
function accessOf(topology: Topology, serviceWorkloads: ReadonlyMap<string, string[]>, ofPod: (p: PodNode) => string): AccessPair[] {
  let pairs = accessByTopology.get(topology);
  if (!pairs) {
    pairs = accessPairs(topology, serviceWorkloads, ofPod);
    accessByTopology.set(topology, pairs);
  }
  return pairs;
}

/** Caller workload → destination workload (and → a split's root Service) for every TrafficTarget rule. */
function accessPairs(topology: Topology, serviceWorkloads: ReadonlyMap<string, string[]>, ofPod: (p: PodNode) => string): AccessPair[] {
  const byIdentity = new Map<string, Set<string>>();
  for (const p of topology.pods) {
    if (!p.meshed) continue;
    const set = byIdentity.get(p.identity) ?? new Set<string>();
    set.add(ofPod(p));
    byIdentity.set(p.identity, set);
  }
  const roots = new Set(topology.splits.filter((s) => s.active && s.root).map((s) => s.root as string));
  const pairs = new Map<string, AccessPair>();
  for (const d of explain(topology).destinations) {
    const targets = [...(serviceWorkloads.get(d.service) ?? []), ...(roots.has(d.service) ? [serviceId(d.service)] : [])];
    for (const caller of d.callers) {
      for (const source of byIdentity.get(caller.source) ?? []) {
        for (const target of targets) {
          const key = `${source}>${target}`;
          if (!pairs.has(key)) pairs.set(key, { source, target, via: caller.via });
        }
      }
    }
  }
  return [...pairs.values()].sort((a, b) => `${a.source}>${a.target}`.localeCompare(`${b.source}>${b.target}`));
}

function workloadPanels(topology: Topology, proxies: readonly ProxyFacts[], ofPod: (p: PodNode) => string): WorkloadPanel[] {
  const byProxy = new Map(proxies.map((p) => [p.proxy, p]));
  const services = new Map(topology.services.map((s) => [s.key, s]));
  const panels = new Map<string, WorkloadPanel>();
  for (const p of topology.pods) {
    const id = ofPod(p);
    const panel = panels.get(id) ?? { id, namespace: p.namespace, name: p.workload.name, workloadKind: p.workload.kind, identity: p.identity, meshed: p.meshed, pods: [], problems: [] };
    panels.set(id, panel);
    const proxy = byProxy.get(p.key);
    const row: ProxyPanel = {
      pod: p.name, address: p.address ?? '', ready: p.ready, connected: proxy?.connected ?? false, upToDate: proxy?.upToDate ?? false,
      desired: proxy?.desired ?? null, applied: proxy?.applied ?? null, lastError: proxy?.lastError ?? null, certificateNotAfter: proxy?.certificateNotAfter ?? null,
    };
    panel.pods.push(row);
    if (row.lastError) panel.problems.push(`${p.name}: refused its config: ${row.lastError}`);
    for (const key of p.services) {
      for (const issue of services.get(key)?.issues ?? []) {
        const text = `Service ${key}: ${issue.message} [${issue.code}]`;
        if (!panel.problems.includes(text)) panel.problems.push(text);
      }
    }
  }
  return [...panels.values()].sort((a, b) => a.id.localeCompare(b.id));
}
