/**
 * The attachment pass: which TrafficPolicy field applies where. For a request to Service S,
 * port P, matching policy route R (an HTTPRouteGroup match some policy targets), each field
 * comes from the most specific attachment that sets it:
 *
 *   route match (G/m) ─► whole route group (G) ─► Service port (S:P) ─► Service (S) ─► default
 *
 * and among policies on the same level, from the oldest. Route-level fields (timeouts,
 * retries, faults) follow the Service the client addressed; cluster-level fields (circuit
 * breaker, outlier detection, idle timeout) follow the backend Service the request goes to;
 * the rate limit follows the Service port that leads to a pod's port. `skiff explain` shows
 * the same answer, with the policy each field came from.
 */
import { DEFAULT_CLUSTER_POLICY, DEFAULT_ROUTE_POLICY, type ClusterPolicy, type HttpMatch, type RateLimit, type RoutePolicy } from '../config/index.ts';
import { attachmentKey, type PolicyField, type PolicyFields, type PolicyNode, type RouteGroupNode, type Topology } from '../model/index.ts';

/** A route some policy targets: one match of an HTTPRouteGroup. */
export interface PolicyRoute {
  group: string;
  /** The match as the proxy sees it (`<group name>/<match name>`). */
  match: HttpMatch;
  /** Some policy targets this very match (not only its whole group): such routes are tried first. */
  specific: boolean;
}

export interface Resolved<T> {
  policy: T;
  /** Field → the TrafficPolicy (`ns/name`) it came from; fields absent here are defaults. */
  from: Partial<Record<PolicyField, string>>;
}

function olderFirst(a: PolicyNode, b: PolicyNode): number {
  return a.rank - b.rank;
}

export class PolicyIndex {
  private readonly byAttachment = new Map<string, PolicyNode[]>();
  private readonly routesByNamespace = new Map<string, PolicyRoute[]>();

  constructor(topology: Pick<Topology, 'policies' | 'routeGroups'>) {
    const groups = new Map<string, RouteGroupNode>(topology.routeGroups.map((g) => [g.key, g]));
    const targeted = new Map<string, { group: RouteGroupNode; specific: Set<string>; whole: boolean }>();
    for (const policy of [...topology.policies].filter((p) => p.active).sort(olderFirst)) {
      for (const a of policy.attachments) {
        const k = attachmentKey(a);
        this.byAttachment.set(k, [...(this.byAttachment.get(k) ?? []), policy]);
        if (a.routeGroup === undefined) continue;
        const group = groups.get(a.routeGroup);
        if (!group) continue;
        const entry = targeted.get(group.key) ?? { group, specific: new Set<string>(), whole: false };
        if (a.match === undefined) entry.whole = true;
        else entry.specific.add(a.match);
        targeted.set(group.key, entry);
      }
    }
    for (const { group, specific, whole } of [...targeted.values()].sort((a, b) => (a.group.key < b.group.key ? -1 : 1))) {
      const routes = this.routesByNamespace.get(group.namespace) ?? [];
      for (const match of group.matches) {
        const name = match.name.slice(match.name.indexOf('/') + 1);
        if (whole || specific.has(name)) routes.push({ group: group.key, match, specific: specific.has(name) });
      }
      this.routesByNamespace.set(group.namespace, routes);
    }
    // Routes some policy names by match come before routes covered only by a whole-group attachment.
    for (const routes of this.routesByNamespace.values()) routes.sort((a, b) => Number(b.specific) - Number(a.specific));
  }

  /** Policy routes that apply to Services of a namespace, in the order the proxy tries them. */
  routes(namespace: string): readonly PolicyRoute[] {
    return this.routesByNamespace.get(namespace) ?? [];
  }

  /** Policies from the most specific attachment level to the least, oldest first within a level. */
  private layers(service: string, port: number, route?: PolicyRoute): PolicyNode[] {
    const at = (a: Parameters<typeof attachmentKey>[0]) => this.byAttachment.get(attachmentKey(a)) ?? [];
    const match = route ? route.match.name.slice(route.match.name.indexOf('/') + 1) : undefined;
    return [
      ...(route ? at({ routeGroup: route.group, match }) : []),
      ...(route ? at({ routeGroup: route.group }) : []),
      ...at({ service, port }),
      ...at({ service }),
    ];
  }

  private pick(layers: PolicyNode[], from: Partial<Record<PolicyField, string>>): <K extends PolicyField>(field: K) => PolicyFields[K] | undefined {
    return (field) => {
      for (const policy of layers) {
        const value = policy.fields[field];
        if (value !== undefined) {
          from[field] = policy.key;
          return value;
        }
      }
      return undefined;
    };
  }

  /** Timeouts, retries and faults for requests to `service:port` (on `route`, if given). */
  routePolicy(service: string, port: number, route?: PolicyRoute): Resolved<RoutePolicy> {
    const from: Resolved<RoutePolicy>['from'] = {};
    const get = this.pick(this.layers(service, port, route), from);
    const d = DEFAULT_ROUTE_POLICY;
    const fault = get('fault');
    const streamIdleMs = get('streamIdleMs');
    const policy: RoutePolicy = {
      timeoutMs: get('timeoutMs') ?? d.timeoutMs,
      perTryTimeoutMs: get('perTryTimeoutMs') ?? d.perTryTimeoutMs,
      retry: {
        attempts: get('retryAttempts') ?? d.retry.attempts,
        on: get('retryOn') ?? d.retry.on,
        budgetPercent: get('retryBudgetPercent') ?? d.retry.budgetPercent,
        minPerSecond: get('retryMinPerSecond') ?? d.retry.minPerSecond,
      },
      ...(fault ? { fault } : {}),
      ...(streamIdleMs !== undefined ? { streamIdleMs } : {}),
    };
    return { policy, from };
  }

  /** Connection limits, circuit breaking and outlier detection for the destination `service:port`. */
  clusterPolicy(service: string, port: number): Resolved<ClusterPolicy> {
    const from: Resolved<ClusterPolicy>['from'] = {};
    const get = this.pick(this.layers(service, port), from);
    const d = DEFAULT_CLUSTER_POLICY;
    return {
      policy: {
        connectTimeoutMs: d.connectTimeoutMs,
        idleTimeoutMs: get('idleTimeoutMs') ?? d.idleTimeoutMs,
        circuitBreaker: {
          maxConnections: get('maxConnections') ?? d.circuitBreaker.maxConnections,
          maxPendingRequests: get('maxPendingRequests') ?? d.circuitBreaker.maxPendingRequests,
          maxRequests: get('maxRequests') ?? d.circuitBreaker.maxRequests,
        },
        outlierDetection: {
          consecutiveGatewayErrors: get('consecutiveErrors') ?? d.outlierDetection.consecutiveGatewayErrors,
          baseEjectionMs: get('baseEjectionMs') ?? d.outlierDetection.baseEjectionMs,
          maxEjectionPercent: get('maxEjectionPercent') ?? d.outlierDetection.maxEjectionPercent,
        },
      },
      from,
    };
  }

  /** The rate limit protecting pods behind `service:port`, if a policy sets one. */
  rateLimit(service: string, port: number): { limit: RateLimit; from: string } | undefined {
    for (const policy of this.layers(service, port)) {
      if (policy.fields.rateLimit) return { limit: policy.fields.rateLimit, from: policy.key };
    }
    return undefined;
  }
}
