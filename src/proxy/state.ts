/**
 * A config compiled for serving: host table, compiled routes, weighted pickers, clusters
 * bound to their endpoint runtimes, and the inbound access decision. A ProxyState never
 * changes after it is built; a request keeps the state it started with, so a config swap
 * is one reference assignment.
 */
import { compileInbound, compileRoutes, HostTable, type ResiliencePolicy, type AccessDecision, type Cluster, type InboundPort, type OutboundPort, type PortProtocol, type ProxyConfig, type RequestFacts, type Route } from '../config/index.ts';
import { endpointKey, type EndpointRuntime, type Upstreams } from './upstream.ts';

export class ClusterRuntime {
  active = 0;
  /** Requests sent to this cluster since the proxy started. */
  requests = 0;
  endpoints: EndpointRuntime[] = [];
  config: Cluster;
  constructor(config: Cluster) {
    this.config = config;
  }
}

export interface CompiledPort {
  port: OutboundPort;
  route(request: RequestFacts): Route | undefined;
  /** Picks a cluster name for a route by weight, per request; undefined when all weights are 0. */
  pick(route: Route): string | undefined;
}

export interface ProxyState {
  config: ProxyConfig;
  hosts: HostTable;
  ports: Map<OutboundPort, CompiledPort>;
  clusters: Map<string, ClusterRuntime>;
  inboundPorts: Map<number, InboundPort>;
  /** This proxy's `x-skiff-client` value (`ns/kind/name`), for the servers' metrics. */
  clientHeader: string;
  /** Timeouts for forwarding to the local application: the overall one only (the client side retries). */
  inboundPolicy: ResiliencePolicy;
  /** The port plaintext requests without a usable Host port go to: the only HTTP port, if there is one. */
  defaultInboundPort: number | undefined;
  decide(identity: string | undefined, port: number, protocol: PortProtocol, request?: RequestFacts): AccessDecision;
}

function weightedPicker(routes: readonly Route[]): (route: Route) => string | undefined {
  const tables = new Map<Route, { total: number; cumulative: number[]; clusters: string[] }>();
  for (const route of routes) {
    let total = 0;
    const cumulative: number[] = [];
    const clusters: string[] = [];
    for (const b of route.backends) {
      if (b.weight <= 0) continue;
      total += b.weight;
      cumulative.push(total);
      clusters.push(b.cluster);
    }
    tables.set(route, { total, cumulative, clusters });
  }
  return (route) => {
    const t = tables.get(route);
    if (!t || t.total === 0) return undefined;
    if (t.clusters.length === 1) return t.clusters[0];
    const r = Math.random() * t.total;
    for (let i = 0; i < t.cumulative.length; i++) if (r < (t.cumulative[i] as number)) return t.clusters[i];
    return t.clusters[t.clusters.length - 1];
  };
}

/**
 * Compiles a config. Cluster runtimes (and through the upstreams, endpoint health and
 * pools) carry over from `previous` when the same cluster or endpoint is still there.
 */
export function compileState(config: ProxyConfig, upstreams: Upstreams, previous?: ProxyState): ProxyState {
  upstreams.configure(config.outbound.defaults);
  const clusters = new Map<string, ClusterRuntime>();
  const keep = new Set<string>();
  for (const cluster of config.outbound.clusters) {
    const runtime = previous?.clusters.get(cluster.name) ?? new ClusterRuntime(cluster);
    runtime.config = cluster;
    runtime.endpoints = cluster.endpoints.map((e) => {
      keep.add(endpointKey(e));
      return upstreams.runtime(e);
    });
    clusters.set(cluster.name, runtime);
  }
  upstreams.retain(keep);
  const ports = new Map<OutboundPort, CompiledPort>();
  for (const service of config.outbound.services) {
    for (const port of service.ports) {
      ports.set(port, { port, route: compileRoutes(port), pick: weightedPicker(port.routes) });
    }
  }
  const inboundPorts = new Map(config.inbound.ports.map((p) => [p.port, p]));
  const httpPorts = config.inbound.ports.filter((p) => p.protocol === 'http');
  return {
    config,
    hosts: new HostTable(config.outbound.services, config.proxy.namespace, config.mesh.clusterDomain),
    ports,
    clusters,
    inboundPorts,
    clientHeader: `${config.proxy.namespace}/${config.proxy.workload.kind}/${config.proxy.workload.name}`,
    inboundPolicy: { ...config.outbound.defaults, perTryTimeoutMs: 0 },
    defaultInboundPort: httpPorts.length === 1 ? httpPorts[0]?.port : undefined,
    decide: compileInbound(config.inbound),
  };
}

/**
 * Power of two choices over the endpoints that are not ejected and not yet tried: the one
 * with fewer requests in flight wins. When too many are ejected (more than the allowed
 * percentage), ejection is ignored rather than concentrating all load on a few.
 */
export function pickEndpoint(cluster: ClusterRuntime, tried: ReadonlySet<EndpointRuntime> | undefined, now: number, maxEjectionPercent: number): EndpointRuntime | undefined {
  const all = tried ? cluster.endpoints.filter((e) => !tried.has(e)) : cluster.endpoints;
  if (all.length === 0) return undefined;
  let healthy = all.filter((e) => !e.outlier.isEjected(now));
  const ejectedShare = ((all.length - healthy.length) / all.length) * 100;
  if (healthy.length === 0 || ejectedShare > maxEjectionPercent) healthy = all;
  if (healthy.length === 1) return healthy[0];
  const a = healthy[Math.floor(Math.random() * healthy.length)] as EndpointRuntime;
  let b = healthy[Math.floor(Math.random() * (healthy.length - 1))] as EndpointRuntime;
  if (b === a) b = healthy[healthy.length - 1] as EndpointRuntime;
  return b.inflight < a.inflight ? b : a;
}
