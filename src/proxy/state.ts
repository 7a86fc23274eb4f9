/**
 * A config compiled for serving: host table, compiled routes, weighted pickers, clusters
 * bound to their endpoint runtimes, and the inbound access decision. A ProxyState never
 * changes after it is built; a request keeps the state it started with, so a config swap
 * is one reference assignment.
 */
import { compileDatagramSources, compileInbound, compileRoutes, HostTable, type AccessDecision, type Cluster, type InboundPort, type InboundProtocol, type OutboundPort, type OutboundService, type ProxyConfig, type RequestFacts, type Route, type RoutePolicy } from '../config/index.ts';
import type { EndpointPicker } from './forward.ts';
import type { EndpointRuntime, Upstreams } from './upstream.ts';

/** Counters of one cluster, kept across config swaps by cluster name (in-flight requests of an older state still count). */
export class ClusterCounters {
  active = 0;
  /** Requests sent to this cluster since the proxy started. */
  requests = 0;
}

/** A cluster as compiled for one config: never changed after it is built. */
export interface ClusterRuntime {
  readonly config: Cluster;
  readonly endpoints: readonly EndpointRuntime[];
  readonly counters: ClusterCounters;
  /** Picks each attempt's endpoint: one not tried yet, or with none left any endpoint again. */
  readonly pick: EndpointPicker;
  /** The cluster's outlier detection, as forward() reads it. */
  readonly outlier: { readonly threshold: number; readonly baseEjectionMs: number };
}

export interface CompiledPort {
  port: OutboundPort;
  route(request: RequestFacts): Route | undefined;
  /** Picks a cluster name for a route by weight, per request; undefined when all weights are 0. */
  pick(route: Route, random?: () => number): string | undefined;
}

export interface ProxyState {
  config: ProxyConfig;
  hosts: HostTable;
  /** Each outbound Service's key (`ns/name`), made once per config rather than per request. */
  serviceKeys: Map<OutboundService, string>;
  ports: Map<OutboundPort, CompiledPort>;
  clusters: Map<string, ClusterRuntime>;
  /** The pod's ports that take connections (HTTP and TCP), by number. */
  inboundPorts: Map<number, InboundPort>;
  /** The pod's UDP ports: the datagram relay carries these (udp-relay.ts). */
  datagramPorts: ReadonlySet<number>;
  /** This proxy's `x-skiff-client` value (`ns/kind/name/pod`), for the servers' metrics and traffic reports. */
  clientHeader: string;
  /** The port plaintext requests without a usable Host port go to: the only HTTP port, if there is one. */
  defaultInboundPort: number | undefined;
  decide(identity: string | undefined, port: number, protocol: InboundProtocol, request?: RequestFacts): AccessDecision;
  /** The identity a datagram's source address stands for, if any rule lets it send UDP. */
  datagramIdentity(address: string): string | undefined;
}

/**
 * Forwarding to the local application: no retries and no time limit of its own (the caller's
 * sidecar enforces the route's timeouts and retries; a plaintext caller brings its own).
 */
export const TO_APPLICATION: RoutePolicy = { timeoutMs: 0, perTryTimeoutMs: 0, retry: { attempts: 0, on: [], budgetPercent: 0, minPerSecond: 0 } };

/**
 * Per route, a cumulative table over the backends that may be picked. A backend whose cluster
 * has no endpoint takes no share while some other weighted backend has one: its weight goes to
 * the others in proportion. A split names a Service whose pods are not ready yet (an
 * experiment just created, a canary scaled up a moment ago) or already gone; a request it
 * would have drawn is served by the rest instead of answered 503. With no weighted backend
 * that has an endpoint, the table is the weights as written (the request then gets 503
 * `no-healthy-upstream`, which says why).
 */
function weightedPicker(routes: readonly Route[], hasEndpoints: (cluster: string) => boolean): (route: Route, random?: () => number) => string | undefined {
  const tables = new Map<Route, { total: number; cumulative: number[]; clusters: string[] }>();
  const tableOf = (backends: readonly { cluster: string; weight: number }[]) => {
    let total = 0;
    const cumulative: number[] = [];
    const clusters: string[] = [];
    for (const b of backends) {
      if (b.weight <= 0) continue;
      total += b.weight;
      cumulative.push(total);
      clusters.push(b.cluster);
    }
    return { total, cumulative, clusters };
  };
  for (const route of routes) {
    const served = tableOf(route.backends.filter((b) => hasEndpoints(b.cluster)));
    tables.set(route, served.total > 0 ? served : tableOf(route.backends));
  }
  return (route, random = Math.random) => {
    const t = tables.get(route);
    if (!t || t.total === 0) return undefined;
    if (t.clusters.length === 1) return t.clusters[0];
    const r = random() * t.total;
    for (let i = 0; i < t.cumulative.length; i++) if (r < (t.cumulative[i] as number)) return t.clusters[i];
    return t.clusters[t.clusters.length - 1];
  };
}

/**
 * Compiles a config into a new state. Everything is built into new objects; from the previous
 * state only handles are carried over, by key: cluster counters, and (through the upstreams)
 * endpoint health and connection pools. The parts that could fail are compiled before any
 * handle is touched, so a refused config leaves the state in force exactly as it was.
 */
export function compileState(config: ProxyConfig, upstreams: Upstreams, previous?: ProxyState): ProxyState {
  const ports = new Map<OutboundPort, CompiledPort>();
  const withEndpoints = new Set(config.outbound.clusters.filter((c) => c.endpoints.length > 0).map((c) => c.name));
  const hasEndpoints = (cluster: string) => withEndpoints.has(cluster);
  for (const service of config.outbound.services) {
    for (const port of service.ports) {
      ports.set(port, { port, route: compileRoutes(port), pick: weightedPicker(port.routes, hasEndpoints) });
    }
  }
  const hosts = new HostTable(config.outbound.services, config.proxy.namespace, config.mesh.clusterDomain);
  const decide = compileInbound(config.inbound);
  const inboundPorts = new Map(config.inbound.ports.filter((p) => p.protocol !== 'udp').map((p) => [p.port, p]));
  const datagramPorts = new Set(config.inbound.ports.filter((p) => p.protocol === 'udp').map((p) => p.port));
  const httpPorts = config.inbound.ports.filter((p) => p.protocol === 'http');
  // Binding: from here on nothing can fail.
  const clusters = new Map<string, ClusterRuntime>();
  const keep = new Set<string>();
  for (const cluster of config.outbound.clusters) {
    const endpoints = cluster.endpoints.map((e) => {
      const runtime = upstreams.runtime(e, cluster.policy);
      keep.add(runtime.key);
      return runtime;
    });
    const { outlierDetection } = cluster.policy;
    const runtime: ClusterRuntime = {
      config: cluster, endpoints, counters: previous?.clusters.get(cluster.name)?.counters ?? new ClusterCounters(),
      pick: (tried) => pickEndpoint(runtime, tried, Date.now(), outlierDetection.maxEjectionPercent) ?? pickEndpoint(runtime, undefined, Date.now(), outlierDetection.maxEjectionPercent),
      outlier: { threshold: outlierDetection.consecutiveGatewayErrors, baseEjectionMs: outlierDetection.baseEjectionMs },
    };
    clusters.set(cluster.name, runtime);
  }
  upstreams.retain(keep);
  return {
    config,
    hosts,
    serviceKeys: new Map(config.outbound.services.map((s) => [s, `${s.namespace}/${s.name}`])),
    ports,
    clusters,
    inboundPorts,
    datagramPorts,
    clientHeader: `${config.proxy.namespace}/${config.proxy.workload.kind}/${config.proxy.workload.name}/${config.proxy.pod}`,
    defaultInboundPort: httpPorts.length === 1 ? httpPorts[0]?.port : undefined,
    decide,
    datagramIdentity: compileDatagramSources(config.inbound),
  };
}

/**
 * Power of two choices over the endpoints that are not ejected and not yet tried: the one
 * with fewer requests in flight wins. When too many are ejected (more than the allowed
 * percentage), ejection is ignored rather than concentrating all load on a few.
 */
export function pickEndpoint(cluster: ClusterRuntime, tried: readonly EndpointRuntime[] | undefined, now: number, maxEjectionPercent: number): EndpointRuntime | undefined {
  // Arrays are made only for a retry or while some endpoint is ejected, not per request.
  const all: readonly EndpointRuntime[] = tried && tried.length > 0 ? cluster.endpoints.filter((e) => !tried.includes(e)) : cluster.endpoints;
  if (all.length === 0) return undefined;
  let ejected = 0;
  for (const e of all) if (e.outlier.isEjected(now)) ejected++;
  const ejectedShare = (ejected / all.length) * 100;
  const healthy = ejected === 0 || ejected === all.length || ejectedShare > maxEjectionPercent ? all : all.filter((e) => !e.outlier.isEjected(now));
  if (healthy.length === 1) return healthy[0];
  const a = healthy[Math.floor(Math.random() * healthy.length)] as EndpointRuntime;
  let b = healthy[Math.floor(Math.random() * (healthy.length - 1))] as EndpointRuntime;
  if (b === a) b = healthy[healthy.length - 1] as EndpointRuntime;
  return b.inflight < a.inflight ? b : a;
}
