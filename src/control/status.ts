/**
 * Status conditions on SMI objects, derived from the topology and the proxies' acks. Skiff
 * writes only the status subresource, never spec (Flagger resets a TrafficSplit whose spec
 * changed). Conditions: Accepted (the object is valid), ResolvedRefs (everything it names
 * exists), Programmed (every proxy it concerns applied the configuration that carries it);
 * plus `proxies: {applied, total}`. A write happens only when the content changed.
 *
 * The proxies an object concerns are those of ready pods (a starting pod takes no traffic
 * until its sidecar applied a config, a terminating one takes no more), and for a TrafficSplit
 * only those that route its root Service: its callers. So a pod starting elsewhere does not
 * flip a split to Pending while Flagger watches it.
 */
import type { Condition, SmiStatus } from '../api/index.ts';
import type { SmiKind } from '../api/index.ts';
import type { OutboundConfig } from '../config/index.ts';
import type { Issue } from '../errors/issue.ts';
import type { Topology } from '../model/index.ts';

export interface Progress { applied: number; total: number }
/** What the status writer knows of one proxy. */
export interface ProxyProgress { id: string; upToDate: boolean; outbound: OutboundConfig }
type ProgressOf = (kind: SmiKind, node: { key: string; root?: string }) => Progress;

const routedServices = new WeakMap<OutboundConfig, Set<string>>();

function routes(outbound: OutboundConfig, service: string): boolean {
  let set = routedServices.get(outbound);
  if (!set) {
    set = new Set(outbound.services.map((s) => `${s.namespace}/${s.name}`));
    routedServices.set(outbound, set);
  }
  return set.has(service);
}

/** Counts, per object, the proxies it concerns and how many of them are up to date. */
export function progressOf(topology: Topology, proxies: readonly ProxyProgress[]): ProgressOf {
  const ready = new Set(topology.pods.filter((p) => p.ready).map((p) => p.key));
  const serving = proxies.filter((p) => ready.has(p.id));
  const count = (list: readonly ProxyProgress[]): Progress => ({ applied: list.filter((p) => p.upToDate).length, total: list.length });
  const everyone = count(serving);
  const byRoot = new Map<string, Progress>();
  return (kind, node) => {
    if (kind !== 'TrafficSplit' || node.root === undefined) return everyone;
    const root = node.root;
    let progress = byRoot.get(root);
    if (!progress) {
      progress = count(serving.filter((p) => routes(p.outbound, root)));
      byRoot.set(root, progress);
    }
    return progress;
  };
}

const REFERENCE_CODES = new Set(['SKIFF_E_SPLIT_ROOT_MISSING', 'SKIFF_E_SPLIT_ROUTE_GROUP_MISSING', 'SKIFF_E_TARGET_ROUTE_MISSING', 'SKIFF_E_TARGET_MATCH_MISSING', 'SKIFF_E_SPLIT_CONFLICT', 'SKIFF_E_POLICY_TARGET_MISSING', 'SKIFF_W_POLICY_CONFLICT']);
const CONFLICT_CODES = new Set(['SKIFF_E_SPLIT_CONFLICT', 'SKIFF_W_POLICY_CONFLICT']);

export interface StatusTarget {
  kind: SmiKind;
  namespace: string;
  name: string;
  status: SmiStatus;
}

function condition(type: string, ok: boolean | 'unknown', reason: string, message: string, generation: number | undefined): Condition {
  return { type, status: ok === 'unknown' ? 'Unknown' : ok ? 'True' : 'False', reason, message, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
}

function conditionsFor(issues: Issue[], active: boolean, programmed: Progress, generation: number | undefined): Condition[] {
  const invalid = issues.filter((i) => i.severity === 'error' && !REFERENCE_CODES.has(i.code));
  const refs = issues.filter((i) => REFERENCE_CODES.has(i.code));
  const text = (list: Issue[]) => list.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message} [${i.code}]`).join('; ').slice(0, 1000);
  const accepted = condition('Accepted', invalid.length === 0, invalid.length === 0 ? 'Accepted' : 'Invalid', invalid.length === 0 ? 'The object is valid.' : text(invalid), generation);
  const conflicted = refs.some((i) => CONFLICT_CODES.has(i.code));
  const resolved = condition('ResolvedRefs', refs.length === 0, refs.length === 0 ? 'ResolvedRefs' : conflicted ? 'Conflicted' : 'RefNotFound', refs.length === 0 ? 'Every reference resolves.' : text(refs), generation);
  const done = active && programmed.total > 0 && programmed.applied === programmed.total;
  const prog = condition('Programmed', active ? (programmed.total === 0 ? 'unknown' : done) : false, !active ? 'NotApplied' : done ? 'Programmed' : 'Pending',
    !active ? 'The object is not applied; see the other conditions.' : `${programmed.applied} of ${programmed.total} proxies applied the configuration.`, generation);
  return [accepted, resolved, prog];
}

/** The desired status of every SMI object in the topology. */
export function desiredStatuses(topology: Topology, progress: ProgressOf, generations: ReadonlyMap<string, number>): StatusTarget[] {
  const out: StatusTarget[] = [];
  const add = (kind: SmiKind, node: { key: string; namespace: string; name: string; active: boolean; issues: Issue[]; root?: string }) => {
    const generation = generations.get(`${kind}/${node.namespace}/${node.name}`);
    const programmed = progress(kind, node);
    out.push({ kind, namespace: node.namespace, name: node.name, status: { ...(generation !== undefined ? { observedGeneration: generation } : {}), conditions: conditionsFor(node.issues, node.active, programmed, generation), proxies: programmed } });
  };
  for (const s of topology.splits) add('TrafficSplit', s);
  for (const t of topology.targets) add('TrafficTarget', t);
  for (const g of topology.routeGroups) add('HTTPRouteGroup', g);
  for (const r of topology.portRoutes) add(r.kind, r);
  for (const p of topology.policies) add('TrafficPolicy', p);
  return out;
}

/** Conditions keep their transition time while their status does not change. */
export function withTransitionTimes(next: Condition[], previous: Condition[] | undefined, now: string): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now };
  });
}
