/**
 * TrafficPolicy in words, for `skiff explain`: the effective policy of a request (each field
 * with the policy it came from, or "default") and, per destination Service, the policies
 * attached to it. The numbers come from the same attachment pass the configs are built with.
 */
import type { ClusterPolicy, RoutePolicy } from '../config/index.ts';
import type { PolicyField, Topology } from '../model/index.ts';
import type { PolicyIndex, Resolved } from './policy-attachment.ts';

export interface EffectivePolicy {
  /** The policy route (`group/match`) the request matched, if any. */
  policyRoute?: string;
  route: Resolved<RoutePolicy>;
  /** Per backend cluster (`ns/service:port`). */
  clusters: Record<string, Resolved<ClusterPolicy>>;
}

export function effectivePolicy(index: PolicyIndex, service: string, port: number, backends: readonly string[], requiredMatch: string | undefined): EffectivePolicy {
  const namespace = service.split('/')[0] ?? '';
  const policyRoute = requiredMatch === undefined ? undefined : index.routes(namespace).find((r) => r.match.name === requiredMatch);
  const clusters: EffectivePolicy['clusters'] = {};
  for (const cluster of backends) {
    const colon = cluster.lastIndexOf(':');
    clusters[cluster] = index.clusterPolicy(cluster.slice(0, colon), Number(cluster.slice(colon + 1)));
  }
  return { ...(policyRoute ? { policyRoute: policyRoute.match.name } : {}), route: index.routePolicy(service, port, policyRoute), clusters };
}

function duration(ms: number): string {
  if (ms === 0) return 'none';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function source(from: Partial<Record<PolicyField, string>>, ...fields: PolicyField[]): string {
  const names = [...new Set(fields.map((f) => from[f]).filter((v): v is string => v !== undefined))];
  return names.length === 0 ? 'default' : `TrafficPolicy ${names.join(', ')}`;
}

/** "timeout 2s (TrafficPolicy shop/checkout), per try none (default), 2 retries on connect-failure, gateway-error (default)". */
export function describeRoutePolicy(r: Resolved<RoutePolicy>): string {
  const p = r.policy;
  const parts = [
    `timeout ${duration(p.timeoutMs)} (${source(r.from, 'timeoutMs')})`,
    `per try ${duration(p.perTryTimeoutMs)} (${source(r.from, 'perTryTimeoutMs')})`,
    ...(p.streamIdleMs !== undefined ? [`stream idle ${duration(p.streamIdleMs)} (${source(r.from, 'streamIdleMs')})`] : []),
    `${p.retry.attempts} ${p.retry.attempts === 1 ? 'retry' : 'retries'}${p.retry.attempts > 0 ? ` on ${p.retry.on.join(', ')}` : ''} (${p.retry.attempts > 0 ? source(r.from, 'retryAttempts', 'retryOn') : source(r.from, 'retryAttempts')})`,
  ];
  const f = p.fault;
  if (f) {
    const faults = [
      ...(f.delayMs ? [`delay ${duration(f.delayMs)} for ${f.delayPercent ?? 0}%`] : []),
      ...(f.abortStatus ? [`abort ${f.abortStatus} for ${f.abortPercent ?? 0}%`] : []),
    ];
    parts.push(`faults: ${faults.join(', ')} (${source(r.from, 'fault')})`);
  }
  return parts.join(', ');
}

export function describeClusterPolicy(r: Resolved<ClusterPolicy>): string {
  const p = r.policy;
  return `at most ${p.circuitBreaker.maxRequests} requests in flight, ${p.circuitBreaker.maxPendingRequests} pending, ${p.circuitBreaker.maxConnections} connections per endpoint (${source(r.from, 'maxRequests', 'maxPendingRequests', 'maxConnections')}); eject after ${p.outlierDetection.consecutiveGatewayErrors} gateway errors for ${duration(p.outlierDetection.baseEjectionMs)} (${source(r.from, 'consecutiveErrors', 'baseEjectionMs', 'maxEjectionPercent')})`;
}

/** Per Service: `TrafficPolicy ns/name on <target>` for each policy attached to it or to a route of its namespace. */
export function attachedPolicies(topology: Topology, service: string): string[] {
  const namespace = service.split('/')[0];
  const out: string[] = [];
  for (const policy of topology.policies) {
    if (!policy.active) continue;
    for (const a of policy.attachments) {
      if (a.service === service) out.push(`TrafficPolicy ${policy.key} on ${a.port !== undefined ? `port ${a.port}` : 'the Service'}`);
      else if (a.routeGroup !== undefined && a.routeGroup.split('/')[0] === namespace) out.push(`TrafficPolicy ${policy.key} on route ${a.routeGroup.split('/')[1]}${a.match ? `/${a.match}` : ''}`);
    }
  }
  return out;
}
