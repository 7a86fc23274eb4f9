/**
 * The outbound half of a ProxyConfig: the Services a proxy calls, their routes (a
 * TrafficSplit's weighted backends, selected by its matches, before the plain route; each
 * route with its effective TrafficPolicy) and the clusters of ready endpoints with theirs.
 * Built as one entry per Service, once per topology; a proxy's half is the entries of its
 * scope, of what it subscribed to on demand, or all of them, shared by every proxy that asks
 * for the same (names in the proxy's own namespace are resolved by the proxy, as Kubernetes
 * DNS does).
 */
import { outboundHash, type Cluster, type Endpoint, type OutboundConfig, type OutboundPort, type OutboundService, type Route } from '../config/index.ts';
import type { LayeredMap } from '../lib/layered-map.ts';
import { compareStrings, podChangesOf, podsUpdatedFrom, type PodNode, type ServiceNode, type ServicePortNode, type SplitNode, type Topology } from '../model/index.ts';
import { podIndex, podIndexChanged } from './pod-index.ts';
import { PolicyIndex } from './policy-attachment.ts';

/** Pods by key, as the entries read them. */
type PodLookup = Pick<ReadonlyMap<string, PodNode>, 'get'>;

export function clusterName(service: string, port: number): string {
  return `${service}:${port}`;
}

/** One workload reference object per workload, shared by its endpoints. */
const workloadRefs = new WeakMap<PodNode['workload'], NonNullable<Endpoint['workload']>>();
function workloadRef(pod: PodNode): NonNullable<Endpoint['workload']> {
  let ref = workloadRefs.get(pod.workload);
  if (!ref) {
    ref = { kind: pod.workload.kind, name: pod.workload.name, namespace: pod.namespace };
    workloadRefs.set(pod.workload, ref);
  }
  return ref;
}

function endpointsOf(port: ServicePortNode, pods: PodLookup): Endpoint[] {
  return port.endpoints.filter((e) => e.ready).map((e): Endpoint => {
    const pod = e.pod ? pods.get(e.pod) : undefined;
    const out: Endpoint = { address: e.address, port: e.port, pod: e.pod ?? e.address };
    if (pod?.meshed && pod.meshPort) {
      out.identity = pod.identity;
      out.meshPort = pod.meshPort;
    }
    if (pod) out.workload = workloadRef(pod);
    return out;
  });
}

/** The traffic routes of a Service port: a TrafficSplit's weighted route (selected by its matches) before the plain one. */
function trafficRoutes(service: ServiceNode, port: ServicePortNode, split: SplitNode | undefined): Omit<Route, 'policy'>[] {
  const plain = { name: 'default', backends: [{ cluster: clusterName(service.key, port.port), weight: 1 }] };
  const splitPort = split?.active ? split.ports.find((p) => p.port === port.port) : undefined;
  if (!split || !splitPort) return [plain];
  const splitRoute = {
    name: `split:${split.name}`,
    split: split.key,
    backends: splitPort.backends.filter((b) => !b.excluded).map((b) => ({ cluster: clusterName(b.service, port.port), weight: b.weight })),
  };
  if (split.matches === undefined) return [splitRoute];
  // Requests the split's route groups do not match go to the root service (SMI v1alpha3+).
  return [{ ...splitRoute, match: split.matches }, plain];
}

/**
 * Every traffic route, refined by the policy routes of the Service's namespace: for each
 * policy route a copy that also requires its match and carries that route's policy, then the
 * route itself with the port's policy. Without policy routes, one route each, as before.
 */
function routesFor(service: ServiceNode, port: ServicePortNode, split: SplitNode | undefined, policies: PolicyIndex): Route[] {
  const refinements = policies.routes(service.namespace).map((pr) => ({ match: pr.match, policy: policies.routePolicy(service.key, port.port, pr).policy }));
  const portPolicy = policies.routePolicy(service.key, port.port).policy;
  const out: Route[] = [];
  for (const route of trafficRoutes(service, port, split)) {
    for (const r of refinements) out.push({ ...route, name: `${route.name}+${r.match.name}`, require: [r.match], policy: r.policy });
    out.push({ ...route, policy: portPolicy });
  }
  return out;
}

/**
 * One Service's part of the outbound half: the Service with its routes, its own ports'
 * clusters, and the Services whose clusters its routes also send to (a split's backends).
 * The unit a proxy subscribes to (ARCHITECTURE.md, "Scoped configs").
 */
export interface OutboundEntry {
  /** `ns/name`: configs list entries in this order (the topology's, and a delta's rebuild's). */
  key: string;
  service: OutboundService;
  clusters: Cluster[];
  /** Other Services whose clusters this one's routes use. */
  backends: string[];
}

/** One Service's entry (undefined: it has no port a proxy carries). */
function entryOf(service: ServiceNode, split: SplitNode | undefined, pods: PodLookup, policies: PolicyIndex): OutboundEntry | undefined {
  const ports: OutboundPort[] = [];
  const clusters: Cluster[] = [];
  for (const port of service.ports) {
    if (port.protocol === 'udp') continue;
    ports.push({ port: port.port, protocol: port.protocol, routes: port.protocol === 'http' ? routesFor(service, port, split, policies) : trafficRoutes(service, port, split).map((r) => ({ ...r, policy: policies.routePolicy(service.key, port.port).policy })) });
    clusters.push({ name: clusterName(service.key, port.port), service: service.key, port: port.port, protocol: port.protocol, endpoints: endpointsOf(port, pods), policy: policies.clusterPolicy(service.key, port.port).policy });
  }
  if (ports.length === 0) return undefined;
  const backends = new Set<string>();
  for (const p of ports) for (const r of p.routes) for (const b of r.backends) {
    const owner = b.cluster.slice(0, b.cluster.lastIndexOf(':'));
    if (owner !== service.key) backends.add(owner);
  }
  return {
    key: service.key, clusters, backends: [...backends].sort(),
    service: { namespace: service.namespace, name: service.name, ...(service.clusterIP ? { clusterIP: service.clusterIP } : {}), ports },
  };
}

/**
 * Pods by key, made once per pods array (a weight edit keeps the array: 50,000 pods are not
 * indexed again), and for an array the model updated, from the previous array's index and
 * the pods that changed.
 */
const podIndexes = new WeakMap<readonly PodNode[], LayeredMap<string, PodNode>>();
function podsByKey(pods: readonly PodNode[]): LayeredMap<string, PodNode> {
  let index = podIndexes.get(pods);
  if (!index) {
    const from = podsUpdatedFrom(pods);
    const previous = from && podIndexes.get(from);
    const changes = podChangesOf(pods);
    index = previous && changes ? podIndexChanged(previous, changes) : podIndex(pods);
    podIndexes.set(pods, index);
  }
  return index;
}

/**
 * Every Service's entry, by key, in the topology's order. `reuse` may offer an entry built
 * before from the same inputs (OutboundHalves: a weight edit rebuilds only the split's root).
 */
export function buildOutboundEntries(topology: Topology, policies = new PolicyIndex(topology), reuse?: (service: ServiceNode) => OutboundEntry | undefined): Map<string, OutboundEntry> {
  let pods: LayeredMap<string, PodNode> | undefined;
  const splits = new Map(topology.splits.map((s) => [s.key, s]));
  const entries = new Map<string, OutboundEntry>();
  for (const service of topology.services) {
    const reused = reuse?.(service);
    if (reused) {
      entries.set(service.key, reused);
      continue;
    }
    pods ??= podsByKey(topology.pods);
    const entry = entryOf(service, service.split ? splits.get(service.split) : undefined, pods, policies);
    if (entry) entries.set(service.key, entry);
  }
  return entries;
}

/** The outbound half made of some entries (and the entries their routes send to), in the topology's order. */
export function outboundOf(entries: ReadonlyMap<string, OutboundEntry>, keys: Iterable<string>, onDemand = false): OutboundConfig {
  const chosen = new Map<string, OutboundEntry>();
  for (const key of keys) {
    const entry = entries.get(key);
    if (!entry) continue;
    chosen.set(key, entry);
    for (const b of entry.backends) {
      const backend = entries.get(b);
      if (backend) chosen.set(b, backend);
    }
  }
  const ordered = [...chosen.values()].sort((a, b) => compareStrings(a.key, b.key));
  return { services: ordered.map((e) => e.service), clusters: ordered.flatMap((e) => e.clusters), ...(onDemand ? { onDemand: true as const } : {}) };
}

/**
 * What a proxy that resolves on demand has asked for (ARCHITECTURE.md, "On-demand outbound"):
 * the Services it subscribed to, and whether it also needs every Service with a TCP port up
 * front (a proxy without capture forwards TCP through listeners that must exist before the
 * application's first connection).
 */
export interface Demand {
  readonly services: ReadonlySet<string>;
  readonly tcp: boolean;
  /** False: the proxy predates UDP (its stream did not say `udp=1`), so its config leaves UDP out (inbound.ts, withoutDatagrams). */
  readonly udp?: boolean;
}

/** Each demand's Services in order, and as one string (demands are replaced, never edited: controller.ts). */
const demandKeys = new WeakMap<Demand, { keys: string[]; id: string }>();

/** An outbound half with its hash (computed once, folded into every config that shares it). */
export interface OutboundHalf {
  outbound: OutboundConfig;
  digest: string;
  /** The entries it is made of (undefined: every one). */
  keys?: readonly string[];
}

/**
 * What the previous translation offers the next: its entries and halves, and the Service and
 * split nodes they came from. Offered only when the next topology has the very same pods and
 * the same policies (translate.ts checks); an entry is then reused when its Service node and
 * split are unchanged, and a half when none of its entries changed.
 */
export interface PreviousOutbound {
  readonly halves: OutboundHalves;
}

function splitPrint(split: SplitNode | undefined): string {
  return split ? JSON.stringify(split) : '';
}

/**
 * The outbound halves: every Service for pods without an outbound scope (one object shared by
 * all of them), and for pods with one the entries their scope names, one object (and hash)
 * per distinct scope.
 */
export class OutboundHalves {
  private readonly entries: Map<string, OutboundEntry>;
  private readonly byNamespace = new Map<string, string[]>();
  private readonly scoped = new Map<string, OutboundHalf>();
  /** Each outbound scope, as the Services it names in this topology. */
  private readonly scopes = new Map<string, { keys: string[]; id: string }>();
  private readonly demanded = new Map<string, OutboundHalf>();
  /** Every Service with a TCP port (what a proxy forwarding TCP without capture needs up front). */
  private tcp: { keys: string[]; id: string } | undefined;
  private full: OutboundHalf | undefined;
  /** Per Service, the nodes its entry came from (what the next translation compares). */
  private readonly sources = new Map<string, { service: ServiceNode; split: string }>();
  /** Entries not taken from the previous translation; undefined: none was (all are new). */
  private readonly rebuilt: Set<string> | undefined;
  private previous: OutboundHalves | undefined;

  constructor(topology: Topology, policies: PolicyIndex, previous?: PreviousOutbound) {
    const splits = new Map(topology.splits.map((s) => [s.key, s]));
    const before = previous?.halves;
    const rebuilt = before ? new Set<string>() : undefined;
    this.entries = buildOutboundEntries(topology, policies, (service) => {
      const print = splitPrint(service.split ? splits.get(service.split) : undefined);
      this.sources.set(service.key, { service, split: print });
      if (!before) return undefined;
      const was = before.sources.get(service.key);
      const entry = before.entries.get(service.key);
      const same = was !== undefined && entry !== undefined && was.split === print
        && (was.service === service || (was.service.ports === service.ports && was.service.clusterIP === service.clusterIP && was.service.split === service.split));
      // A Service with no port a proxy carries has no entry, before or now: nothing was rebuilt.
      if (!same && (entry !== undefined || service.ports.some((p) => p.protocol !== 'udp'))) rebuilt?.add(service.key);
      return same ? entry : undefined;
    });
    this.rebuilt = rebuilt;
    this.previous = before;
    for (const key of this.entries.keys()) {
      const namespace = key.slice(0, key.indexOf('/'));
      const list = this.byNamespace.get(namespace);
      if (list) list.push(key);
      else this.byNamespace.set(namespace, [key]);
    }
  }

  /** Entries rebuilt rather than reused from the previous translation (undefined: no previous one). */
  rebuiltEntries(): ReadonlySet<string> | undefined {
    return this.rebuilt;
  }

  /** Whether the previous translation had entries for the very same Services (none came or went, none gained or lost a TCP port). */
  sameServices(): boolean {
    const previous = this.previous;
    if (!previous || !this.rebuilt || previous.entries.size !== this.entries.size) return false;
    const hasTcp = (entry: OutboundEntry | undefined) => entry?.service.ports.some((p) => p.protocol === 'tcp');
    for (const key of this.rebuilt) {
      if (!previous.entries.has(key) || !this.entries.has(key)) return false;
      // A TCP port come or gone changes what a proxy forwarding TCP without capture gets (onDemand).
      if (hasTcp(previous.entries.get(key)) !== hasTcp(this.entries.get(key))) return false;
    }
    return true;
  }

  /** Whether a half of the previous translation stands: none of its entries was rebuilt. */
  stands(half: OutboundHalf): boolean {
    return this.reusable(half) !== undefined;
  }

  /** Stops offering the previous translation's halves (it can then be collected). */
  forgetPrevious(): void {
    this.previous = undefined;
  }

  /** A half of the previous translation, when none of its entries was rebuilt (nor came or went). */
  private reusable(half: OutboundHalf | undefined): OutboundHalf | undefined {
    if (!half || !this.rebuilt || this.previous === undefined) return undefined;
    if (half.keys === undefined) return this.rebuilt.size === 0 && this.previous.entries.size === this.entries.size ? half : undefined;
    const previous = this.previous;
    for (const key of half.keys) if (this.rebuilt.has(key) || this.entries.has(key) !== previous.entries.has(key)) return undefined;
    return half;
  }

  /** Every Service: what pods without an outbound scope get. */
  all(): OutboundHalf {
    if (!this.full) {
      this.full = this.reusable(this.previous?.full);
      if (!this.full) {
        const outbound = outboundOf(this.entries, this.entries.keys());
        this.full = { outbound, digest: outboundHash(outbound) };
      }
    }
    return this.full;
  }

  /** Every Service a proxy can call, in the topology's order. */
  services(): OutboundService[] {
    return [...this.entries.values()].map((e) => e.service);
  }

  /**
   * What a pod's proxy is configured for: its outbound scope when it has one (`*`: every
   * Service); else, for a proxy that resolves on demand, what it subscribed to; else every Service.
   */
  of(pod: PodNode, demand?: Demand): OutboundHalf {
    if (!pod.outboundScope) return demand ? this.onDemand(demand) : this.all();
    if (pod.outboundScope.includes('*')) return this.all();
    const scope = pod.outboundScope.join(',');
    let expanded = this.scopes.get(scope);
    if (!expanded) {
      const keys = pod.outboundScope.flatMap((e) => (e.endsWith('/*') ? this.byNamespace.get(e.slice(0, -2)) ?? [] : [e]));
      expanded = { keys, id: keys.join(',') };
      this.scopes.set(scope, expanded);
    }
    // By the Services the scope names now: `ns/*` names more or fewer when a Service comes or goes.
    let half = this.scoped.get(expanded.id);
    if (!half) {
      half = this.reusable(this.previous?.scoped.get(expanded.id)) ?? this.halfOf(expanded.keys, false);
      this.scoped.set(expanded.id, half);
    }
    return half;
  }

  /** The Services a proxy subscribed to (and, when it forwards TCP, every TCP Service), one object per distinct demand. */
  private onDemand(demand: Demand): OutboundHalf {
    let own = demandKeys.get(demand);
    if (!own) {
      const keys = [...demand.services].sort();
      own = { keys, id: keys.join(',') };
      demandKeys.set(demand, own);
    }
    let keys = own.keys;
    let id = own.id;
    if (demand.tcp) {
      if (!this.tcp) {
        const tcpKeys = [...this.entries.values()].filter((e) => e.service.ports.some((p) => p.protocol === 'tcp')).map((e) => e.key);
        this.tcp = { keys: tcpKeys, id: tcpKeys.join(',') };
      }
      keys = [...keys, ...this.tcp.keys];
      id = `tcp;${id};${this.tcp.id}`;
    }
    let half = this.demanded.get(id);
    if (!half) {
      half = this.reusable(this.previous?.demanded.get(id)) ?? this.halfOf(keys, true);
      this.demanded.set(id, half);
    }
    return half;
  }

  /** The half of these entries and the ones their routes send to, with the keys it is made of. */
  private halfOf(keys: readonly string[], onDemand: boolean): OutboundHalf {
    const outbound = outboundOf(this.entries, keys, onDemand);
    const made = outbound.services.map((s) => `${s.namespace}/${s.name}`);
    // A key asked for that has no entry (yet) counts too: if it comes, the half changes.
    return { outbound, digest: outboundHash(outbound), keys: [...new Set([...made, ...keys])] };
  }
}

/** Every Service a workload may call (a proxy configured from a file, goldens). */
export function buildOutbound(topology: Topology, policies = new PolicyIndex(topology)): OutboundConfig {
  const entries = buildOutboundEntries(topology, policies);
  return outboundOf(entries, entries.keys());
}
