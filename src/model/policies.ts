/**
 * TrafficPolicies resolved against Services and HTTPRouteGroups: what each policy sets (as
 * plain numbers), what it is attached to, which targets are missing (ResolvedRefs) and which
 * of its fields lose to an older policy on the same target (conflicts: oldest wins, as for
 * splits). Which policy applies to a given request is decided in translate/policy-attachment.ts.
 */
import { parseDuration, type HubTrafficPolicy, type TrafficPolicySpec } from '../api/index.ts';
import { issue, type Issue, type ObjectRef } from '../errors/issue.ts';
import { compareStrings, key } from './keys.ts';
import type { SmiEntry } from './smi-objects.ts';
import type { PolicyAttachment, PolicyField, PolicyFields, PolicyNode, RouteGroupNode, ServiceNode } from './topology.ts';

/** Cluster-level fields (per destination Service): they have no effect on a route attachment. */
export const CLUSTER_FIELDS = ['idleTimeoutMs', 'maxConnections', 'maxPendingRequests', 'maxRequests', 'consecutiveErrors', 'baseEjectionMs', 'maxEjectionPercent'] as const;

function olderFirst(a: SmiEntry, b: SmiEntry): number {
  return compareStrings(a.creationTimestamp ?? '', b.creationTimestamp ?? '') || compareStrings(a.key, b.key);
}

function ms(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

/** The spec as plain numbers; only fields the policy sets are present. */
export function policyFields(spec: TrafficPolicySpec): PolicyFields {
  const f: PolicyFields = {};
  const set = <K extends PolicyField>(k: K, v: PolicyFields[K] | undefined) => {
    if (v !== undefined) f[k] = v;
  };
  set('timeoutMs', ms(spec.timeouts?.request));
  set('perTryTimeoutMs', ms(spec.timeouts?.perTry));
  set('idleTimeoutMs', ms(spec.timeouts?.idle));
  set('streamIdleMs', ms(spec.timeouts?.streamIdle));
  set('retryAttempts', spec.retries?.attempts);
  set('retryOn', spec.retries?.on ? [...spec.retries.on] : undefined);
  set('retryBudgetPercent', spec.retries?.budgetPercent);
  set('retryMinPerSecond', spec.retries?.minPerSecond);
  set('maxConnections', spec.circuitBreaker?.maxConnections);
  set('maxPendingRequests', spec.circuitBreaker?.maxPendingRequests);
  set('maxRequests', spec.circuitBreaker?.maxRequests);
  set('consecutiveErrors', spec.outlierDetection?.consecutiveErrors);
  set('baseEjectionMs', ms(spec.outlierDetection?.baseEjectionTime));
  set('maxEjectionPercent', spec.outlierDetection?.maxEjectedPercent);
  if (spec.rateLimit) {
    const rps = spec.rateLimit.requestsPerSecond;
    set('rateLimit', { requestsPerSecond: rps, burst: spec.rateLimit.burst ?? Math.max(1, Math.ceil(rps)), perCaller: spec.rateLimit.perCaller ?? false });
  }
  const fault = spec.faultInjection;
  if (fault?.delay || fault?.abort) {
    set('fault', {
      ...(fault.delay ? { delayMs: ms(fault.delay.duration) ?? 0, delayPercent: fault.delay.percent } : {}),
      ...(fault.abort ? { abortStatus: fault.abort.status, abortPercent: fault.abort.percent } : {}),
    });
  }
  return f;
}

/** A stable text for an attachment, to compare targets. */
export function attachmentKey(a: PolicyAttachment): string {
  return a.service !== undefined ? `svc:${a.service}:${a.port ?? '*'}` : `route:${a.routeGroup}/${a.match ?? '*'}`;
}

function describe(a: PolicyAttachment): string {
  return a.service !== undefined ? `Service ${a.service}${a.port !== undefined ? ` port ${a.port}` : ''}` : `HTTPRouteGroup ${a.routeGroup}${a.match !== undefined ? ` match ${a.match}` : ''}`;
}

function resolveTargets(entry: SmiEntry, spec: TrafficPolicySpec, services: ReadonlyMap<string, ServiceNode>, groups: ReadonlyMap<string, RouteGroupNode>, ref: ObjectRef, issues: Issue[]): PolicyAttachment[] {
  const out: PolicyAttachment[] = [];
  spec.targetRefs.forEach((t, i) => {
    const path = `spec.targetRefs[${i}]`;
    const target = key(entry.namespace, t.name);
    if (t.kind === 'Service') {
      const service = services.get(target);
      if (!service) {
        issues.push(issue('SKIFF_E_POLICY_TARGET_MISSING', `${path}.name`, `Service ${target} does not exist; this target gets nothing until it does`, ref));
        return;
      }
      if (t.port !== undefined && !service.ports.some((p) => p.port === t.port)) {
        issues.push(issue('SKIFF_E_POLICY_TARGET_MISSING', `${path}.port`, `Service ${target} has no port ${t.port} (it has ${service.ports.map((p) => p.port).join(', ') || 'none'})`, ref));
        return;
      }
      out.push({ service: target, ...(t.port !== undefined ? { port: t.port } : {}) });
      return;
    }
    const group = groups.get(target);
    if (!group || !group.active) {
      issues.push(issue('SKIFF_E_POLICY_TARGET_MISSING', `${path}.name`, `HTTPRouteGroup ${target} ${group ? 'is invalid' : 'does not exist'}; this target gets nothing until it is fixed`, ref));
      return;
    }
    if (t.match !== undefined && !group.matches.some((m) => m.name === `${t.name}/${t.match}`)) {
      issues.push(issue('SKIFF_E_POLICY_TARGET_MISSING', `${path}.match`, `HTTPRouteGroup ${target} has no match ${t.match}`, ref));
      return;
    }
    out.push({ routeGroup: target, ...(t.match !== undefined ? { match: t.match } : {}) });
  });
  return out;
}

export function buildPolicies(entries: SmiEntry[], services: ReadonlyMap<string, ServiceNode>, groups: ReadonlyMap<string, RouteGroupNode>): PolicyNode[] {
  const nodes: PolicyNode[] = [];
  /** Per attachment key, per field: the policy that set it first (the oldest). */
  const owners = new Map<string, Map<PolicyField, string>>();
  for (const entry of [...entries].sort(olderFirst)) {
    const ref = { kind: 'TrafficPolicy', namespace: entry.namespace, name: entry.name };
    const issues = [...entry.issues];
    const node: PolicyNode = { key: entry.key, namespace: entry.namespace, name: entry.name, sourceVersion: entry.sourceVersion, active: false, rank: nodes.length, fields: {}, attachments: [], issues };
    nodes.push(node);
    const hub = entry.hub as HubTrafficPolicy | undefined;
    if (!hub || !entry.active) continue;
    node.active = true;
    node.fields = policyFields(hub.spec);
    node.attachments = resolveTargets(entry, hub.spec, services, groups, ref, issues);
    for (const a of node.attachments) {
      if (a.service === undefined && CLUSTER_FIELDS.some((f) => node.fields[f] !== undefined)) {
        issues.push(issue('SKIFF_W_POLICY_SCOPE', 'spec', `circuitBreaker, outlierDetection and timeouts.idle protect a destination Service; on ${describe(a)} they have no effect (target the Service)`, ref));
        break;
      }
    }
    for (const a of node.attachments) {
      const k = attachmentKey(a);
      const fieldOwners = owners.get(k) ?? new Map<PolicyField, string>();
      owners.set(k, fieldOwners);
      const lost: string[] = [];
      for (const field of Object.keys(node.fields) as PolicyField[]) {
        const owner = fieldOwners.get(field);
        if (owner === undefined) fieldOwners.set(field, node.key);
        else lost.push(`${field} (TrafficPolicy ${owner})`);
      }
      if (lost.length > 0) issues.push(issue('SKIFF_W_POLICY_CONFLICT', 'spec.targetRefs', `on ${describe(a)} an older policy already sets ${lost.join(', ')}; the older one applies`, ref));
    }
  }
  return nodes.sort((a, b) => compareStrings(a.key, b.key));
}
