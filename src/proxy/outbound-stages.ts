/**
 * The outbound request path as stages, each with one job, each returning data (a result or a
 * refusal with its reason) and taking its randomness as a parameter, so each is unit-tested
 * on its own (outbound-stages.test.ts). outbound.ts strings them together:
 *
 *   resolve (authority, service, path) → choose (route, backend by weight) → admit (fault
 *   abort or delay, circuit breaker) → forward (forward.ts: attempts, retries, timeouts)
 */
import { normalizeRequestTarget, parseAuthority, type HostTarget, type RequestFacts, type Route } from '../config/index.ts';
import type { Reason } from './generated.ts';
import type { ClusterRuntime, CompiledPort, ProxyState } from './state.ts';

export interface Refusal {
  refuse: Reason;
  detail: string;
  /** For an injected fault: the status its policy names. */
  status?: number;
  /** For an unknown host: its name, as parsed (what an on-demand proxy asks the control plane for). */
  host?: string;
}

export interface Resolved {
  authority: string;
  target: HostTarget;
  port: CompiledPort;
  /** The normal path the rules see; `forwardPath` adds the query back. */
  path: string;
  forwardPath: string;
}

/** Stage 1: which Service and port the request is for, and its path in normal form. */
export function resolve(state: ProxyState, authority: string | undefined, url: string): Resolved | Refusal {
  if (!authority) return { refuse: 'bad-request', detail: 'the request names no host' };
  let target = state.hosts.found(authority);
  if (!target) {
    const parsed = parseAuthority(authority);
    if (!parsed) return { refuse: 'bad-request', detail: 'the request\'s host is not a valid authority' };
    target = state.hosts.lookupAuthority(parsed);
    if (!target) return { refuse: 'unknown-host', detail: `${authority} is not a service of the mesh`, host: parsed.name };
    state.hosts.remember(authority, target);
  }
  const normal = normalizeRequestTarget(url);
  if ('problem' in normal) return { refuse: 'bad-request', detail: normal.problem };
  const port = state.ports.get(target.port);
  if (!port) return { refuse: 'no-route', detail: `${target.service.namespace}/${target.service.name}:${target.port.port} has no routes` };
  return { authority, target, port, path: normal.path, forwardPath: normal.path + normal.query };
}

export interface Choice {
  route: Route;
  cluster: ClusterRuntime;
}

/** Stage 2: the route the request matches, and a backend cluster picked by weight for this request. */
export function choose(state: ProxyState, resolved: Resolved, facts: RequestFacts, random: () => number): Choice | (Refusal & { route?: Route }) {
  const route = resolved.port.route(facts);
  const { service, port } = resolved.target;
  if (!route) return { refuse: 'no-route', detail: `no route of ${service.namespace}/${service.name}:${port.port} matches` };
  const name = resolved.port.pick(route, random);
  const cluster = name ? state.clusters.get(name) : undefined;
  if (!cluster) return { route, refuse: 'no-backends', detail: route.split ? `every backend of TrafficSplit ${route.split} has weight 0` : 'the route has no backend' };
  return { route, cluster };
}

/** True with probability `percent`/100. */
export function chance(percent: number | undefined, random: () => number): boolean {
  return percent !== undefined && percent > 0 && random() * 100 < percent;
}

/** Stage 3: a fault the route's policy injects, or the cluster's circuit breaker; else how long to delay (0: none). */
export function admit(choice: Choice, random: () => number): Refusal | { delayMs: number } {
  const fault = choice.route.policy.fault;
  if (fault?.abortStatus && chance(fault.abortPercent, random)) return { refuse: 'fault-injected', detail: 'fault injection aborted this request', status: fault.abortStatus };
  const limit = choice.cluster.config.policy.circuitBreaker.maxRequests;
  const active = choice.cluster.counters.active;
  if (active >= limit) return { refuse: 'circuit-open', detail: `${choice.cluster.config.name} has ${active} requests in flight (limit ${limit})` };
  return fault?.delayMs && chance(fault.delayPercent, random) ? { delayMs: fault.delayMs } : NO_DELAY;
}

const NO_DELAY: { readonly delayMs: number } = Object.freeze({ delayMs: 0 });

export function isRefusal(value: object): value is Refusal {
  return 'refuse' in value;
}
