/**
 * The Services-and-pods build updated for changed pods and EndpointSlices (build.ts uses it
 * when the Services, namespaces and mesh settings are the very same and only pods or slices
 * changed, as a pod turning ready does: its Pod, then its slice). Only the pods that changed
 * get a new node, and only the Services that select one of them (with its old labels or its
 * new ones), or (without a selector) whose EndpointSlices changed or name a changed pod, are
 * built again, by buildServicesAndPods itself on just those. Every other node is the
 * previous build's very object, which is what lets the translation keep their entries and
 * configs. The result is exactly what a build from scratch gives (services-update.test.ts).
 */
import type { Issue } from '../errors/issue.ts';
import { byKey, key } from './keys.ts';
import { buildServicesAndPods, selects, type ServiceBuild } from './services.ts';
import type { PodInput, Snapshot } from './snapshot.ts';
import type { PodNode } from './topology.ts';

/** More changed pods and slices than this: a build from scratch costs about the same. */
export const MAX_CHANGED_INPUTS = 2000;

/** The pods array an updated build came from (its nodes for unchanged pods are that array's). */
const updatedFrom = new WeakMap<readonly PodNode[], readonly PodNode[]>();

/**
 * The pods array `pods` was updated from, when it was: a Service node present in both builds
 * is then unchanged, and so is every pod its endpoints name.
 */
export function podsUpdatedFrom(pods: readonly PodNode[]): readonly PodNode[] | undefined {
  return updatedFrom.get(pods);
}

/** The build for `snapshot`, from `previous` (built from `previousPods`); undefined when a build from scratch is the way. */
export function updateServicesAndPods(previous: ServiceBuild, before: Pick<Snapshot, 'pods' | 'endpointSlices'>, snapshot: Snapshot): ServiceBuild | undefined {
  const now = new Set(snapshot.pods);
  const added = snapshot.pods.filter((p) => !previous.nodes.has(p));
  const removed = before.pods.filter((p) => !now.has(p));
  const changed = [...added, ...removed];
  const slicesNow = new Set(snapshot.endpointSlices);
  const slicesBefore = new Set(before.endpointSlices);
  const changedSlices = snapshot.endpointSlices === before.endpointSlices ? []
    : [...snapshot.endpointSlices.filter((s) => !slicesBefore.has(s)), ...before.endpointSlices.filter((s) => !slicesNow.has(s))];
  // Nothing changed but the order (it decides the order of issues and endpoints): from scratch.
  if ((changed.length === 0 && changedSlices.length === 0) || changed.length + changedSlices.length > MAX_CHANGED_INPUTS) return undefined;

  const changedByNamespace = new Map<string, PodInput[]>();
  for (const p of changed) {
    const list = changedByNamespace.get(p.namespace);
    if (list) list.push(p);
    else changedByNamespace.set(p.namespace, [p]);
  }
  const changedKeys = new Set(changed.map((p) => key(p.namespace, p.name)));
  const sliceNamesChanged = new Set(changedSlices.map((slice) => key(slice.namespace, slice.service)));
  if (changed.length > 0) for (const slice of snapshot.endpointSlices) {
    if (slice.endpoints.some((e) => e.pod !== undefined && changedKeys.has(key(slice.namespace, e.pod)))) sliceNamesChanged.add(key(slice.namespace, slice.service));
  }
  const affected = new Set<string>();
  for (const svc of snapshot.services) {
    const k = key(svc.namespace, svc.name);
    if (svc.selector ? (changedByNamespace.get(svc.namespace) ?? []).some((p) => selects(svc.selector, p.labels)) : sliceNamesChanged.has(k)) affected.add(k);
  }

  // The affected Services with every pod they select now (in input order), built as usual.
  const wanted = new Set<PodInput>(added);
  for (const k of affected) for (const p of previous.selected.get(k) ?? []) if (now.has(p)) wanted.add(p);
  const sub = buildServicesAndPods({
    ...snapshot,
    services: snapshot.services.filter((s) => affected.has(key(s.namespace, s.name))),
    pods: snapshot.pods.filter((p) => wanted.has(p)),
  });

  const rebuilt = new Map(sub.services.map((s) => [s.key, s]));
  const services = previous.services.map((s) => rebuilt.get(s.key) ?? s);
  const gone = new Set(removed.map((p) => previous.nodes.get(p)));
  const kept = previous.pods.filter((n) => !gone.has(n));
  const fresh = added.map((p) => sub.nodes.get(p) as PodNode).sort(byKey);
  const keys = new Set(kept.map((n) => n.key));
  for (const n of fresh) {
    // Two pods with one name (a folder can say so): from scratch, which orders them by input.
    if (keys.has(n.key)) return undefined;
    keys.add(n.key);
  }
  const pods = merge(kept, fresh);

  const nodes = new Map(previous.nodes);
  for (const p of removed) nodes.delete(p);
  for (const p of added) nodes.set(p, sub.nodes.get(p) as PodNode);
  const podIssues = new Map(previous.podIssues);
  for (const p of changed) podIssues.delete(key(p.namespace, p.name));
  for (const p of added) {
    const found = sub.podIssues.get(key(p.namespace, p.name));
    if (found) podIssues.set(key(p.namespace, p.name), found);
  }
  const issues: Issue[] = [];
  if (podIssues.size > 0) for (const p of snapshot.pods) issues.push(...(podIssues.get(key(p.namespace, p.name)) ?? []));
  const selected = new Map(previous.selected);
  for (const [k, list] of sub.selected) selected.set(k, list);

  const build: ServiceBuild = { services, pods, issues, selected, nodes, podIssues };
  updatedFrom.set(pods, previous.pods);
  return build;
}

/** Two arrays sorted by key, merged. */
function merge(a: readonly PodNode[], b: readonly PodNode[]): PodNode[] {
  const out: PodNode[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(byKey(a[i] as PodNode, b[j] as PodNode) <= 0 ? (a[i++] as PodNode) : (b[j++] as PodNode));
  while (i < a.length) out.push(a[i++] as PodNode);
  while (j < b.length) out.push(b[j++] as PodNode);
  return out;
}
