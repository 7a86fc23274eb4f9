/**
 * The Services-and-pods build updated for changed Services, pods and EndpointSlices (build.ts
 * uses it when the namespaces and mesh settings are the very same, as when a pod turns ready:
 * its Pod, then its slice; or a Service is applied). Only the pods that changed, and the pods
 * a changed Service selected or selects (their ports and Services change), get a new node;
 * only the changed Services, and those that select a changed pod (with its old labels or its
 * new ones) or (without a selector) whose EndpointSlices changed or name a changed pod, are
 * built again, by buildServicesAndPods itself on just those (with the other Services that
 * select a re-selected pod, whose nodes are not kept). Every other node is the previous
 * build's very object, which is what lets the translation keep their entries and configs.
 * The result is exactly what a build from scratch gives (services-update.test.ts).
 */
import type { Issue } from '../errors/issue.ts';
import { byKey, key } from './keys.ts';
import { buildServicesAndPods, selects, type ServiceBuild } from './services.ts';
import type { PodInput, ServiceInput, Snapshot } from './snapshot.ts';
import type { PodNode } from './topology.ts';

/** More changed Services, pods and slices than this: a build from scratch costs about the same. */
export const MAX_CHANGED_INPUTS = 2000;

/** The pod nodes an update took out of the previous pods array and those it put in (a changed pod: its old node and its new one). */
export interface PodChanges {
  readonly removed: readonly PodNode[];
  readonly added: readonly PodNode[];
}

/** What an updated build came from: the previous pods array, whether Services changed too, and the pod nodes that changed. */
const updatedFrom = new WeakMap<readonly PodNode[], { pods: readonly PodNode[]; services: boolean; changes: PodChanges }>();

/**
 * The pods array `pods` was updated from, when it was: a Service node present in both builds
 * is then unchanged, and so is every pod its endpoints name (its address, readiness, identity
 * and workload: a pod whose node is new only because a Service now selects it or no longer
 * does keeps them).
 */
export function podsUpdatedFrom(pods: readonly PodNode[]): readonly PodNode[] | undefined {
  return updatedFrom.get(pods)?.pods;
}

/** The pod nodes that differ between `pods` and the array it was updated from (podsUpdatedFrom). */
export function podChangesOf(pods: readonly PodNode[]): PodChanges | undefined {
  return updatedFrom.get(pods)?.changes;
}

/** Whether the update that made `pods` changed Services too (their names and addresses may have). */
export function servicesChangedIn(pods: readonly PodNode[]): boolean {
  return updatedFrom.get(pods)?.services ?? true;
}

/**
 * The inputs added and removed between two arrays of them (compared by reference), in their
 * arrays' order. Arrays of one length that differ in a few places (a source replaces a
 * changed object where it was) are compared place by place: only what differs is looked at,
 * no set of 50,000 pods is made.
 */
function changedInputs<T>(before: readonly T[], now: readonly T[]): { added: T[]; removed: T[] } {
  if (before === now) return { added: [], removed: [] };
  if (before.length === now.length) {
    const differ: number[] = [];
    for (let i = 0; i < now.length && differ.length <= MAX_CHANGED_INPUTS; i++) if (now[i] !== before[i]) differ.push(i);
    if (differ.length <= MAX_CHANGED_INPUTS) {
      // What sits in the same place in both is in both; what differs may only have moved among the places that differ.
      const was = new Set(differ.map((i) => before[i] as T));
      const is = new Set(differ.map((i) => now[i] as T));
      return { added: differ.map((i) => now[i] as T).filter((x) => !was.has(x)), removed: differ.map((i) => before[i] as T).filter((x) => !is.has(x)) };
    }
  }
  const was = new Set(before);
  const present = new Set(now);
  return { added: now.filter((x) => !was.has(x)), removed: before.filter((x) => !present.has(x)) };
}

const distinctKeys = (services: readonly ServiceInput[]) => new Set(services.map((s) => key(s.namespace, s.name))).size === services.length;

/** The build for `snapshot`, from `previous` (built from `before`); undefined when a build from scratch is the way. */
export function updateServicesAndPods(previous: ServiceBuild, before: Pick<Snapshot, 'services' | 'pods' | 'endpointSlices'>, snapshot: Snapshot): ServiceBuild | undefined {
  const { added, removed } = changedInputs(before.pods, snapshot.pods);
  // Of the pods the previous build was made from, those still here (no set of every pod now).
  const gonePods = new Set(removed);
  const now = { has: (p: PodInput) => !gonePods.has(p) };
  const changed = [...added, ...removed];
  const slices = changedInputs(before.endpointSlices, snapshot.endpointSlices);
  const changedSlices = [...slices.added, ...slices.removed];
  const services = changedInputs(before.services, snapshot.services);
  const changedServices = [...services.added, ...services.removed];
  // Nothing changed but the order (it decides the order of issues and endpoints): from scratch.
  const count = changed.length + changedSlices.length + changedServices.length;
  if (count === 0 || count > MAX_CHANGED_INPUTS) return undefined;
  // Two Services or two pods with one name (a folder can say so), before or now: from scratch, which orders them by input.
  if (!previous.distinctNames || (changedServices.length > 0 && !distinctKeys(snapshot.services))) return undefined;

  const changedKeys = new Set(changed.map((p) => key(p.namespace, p.name)));
  const sliceNamesChanged = new Set(changedSlices.map((slice) => key(slice.namespace, slice.service)));
  if (changed.length > 0) for (const slice of snapshot.endpointSlices) {
    if (slice.endpoints.some((e) => e.pod !== undefined && changedKeys.has(key(slice.namespace, e.pod)))) sliceNamesChanged.add(key(slice.namespace, slice.service));
  }
  const affected = new Set<string>(changedServices.map((s) => key(s.namespace, s.name)));
  for (const svc of servicesSelecting(changed, snapshot.services)) affected.add(key(svc.namespace, svc.name));
  // Without a selector, a Service's endpoints are its slices'.
  if (sliceNamesChanged.size > 0) for (const svc of snapshot.services) if (!svc.selector && sliceNamesChanged.has(key(svc.namespace, svc.name))) affected.add(key(svc.namespace, svc.name));

  // Pods a changed Service selected or selects: their ports and Services change, so they get new nodes.
  const reselected = reselectedPods(previous, services, snapshot, now);
  // Each such pod's node is built with every Service that selects it (those nodes are not kept).
  const context = servicesSelecting(reselected, snapshot.services);

  // The affected Services with every pod they select now (in input order), built as usual.
  const wanted = new Set<PodInput>([...added, ...reselected]);
  for (const k of affected) for (const p of previous.selected.get(k) ?? []) if (now.has(p)) wanted.add(p);
  const sub = buildServicesAndPods({
    ...snapshot,
    services: snapshot.services.filter((s) => affected.has(key(s.namespace, s.name)) || context.has(s)),
    pods: snapshot.pods.filter((p) => wanted.has(p)),
  });

  const rebuilt = new Map(sub.services.filter((s) => affected.has(s.key)).map((s) => [s.key, s]));
  const serviceKeys = changedServices.length > 0 ? new Set(snapshot.services.map((s) => key(s.namespace, s.name))) : undefined;
  const kept = serviceKeys ? previous.services.filter((s) => serviceKeys.has(s.key)) : previous.services;
  const serviceNodes = kept.map((s) => rebuilt.get(s.key) ?? s);
  if (serviceKeys && serviceNodes.length < serviceKeys.size) {
    const present = new Set(kept.map((s) => s.key));
    for (const [k, s] of rebuilt) if (!present.has(k)) serviceNodes.push(s);
    serviceNodes.sort(byKey);
  }

  const gone = new Set(removed.map((p) => previous.nodes.get(p)));
  const renewed = new Map<PodNode | undefined, PodNode>();
  for (const p of reselected) renewed.set(previous.nodes.get(p), sub.nodes.get(p) as PodNode);
  const fresh = added.map((p) => sub.nodes.get(p) as PodNode).sort(byKey);
  const pods = mergePods(previous.pods, gone, renewed, fresh);
  // Two pods with one name (a folder can say so): from scratch, which orders them by input.
  if (!pods) return undefined;
  const changes: PodChanges = { removed: [...gone, ...renewed.keys()].filter((n): n is PodNode => n !== undefined), added: [...fresh, ...renewed.values()] };

  const nodes = previous.nodes.with([...added, ...reselected].map((p) => [p, sub.nodes.get(p) as PodNode] as const), removed);
  const podIssues = new Map(previous.podIssues);
  for (const p of changed) podIssues.delete(key(p.namespace, p.name));
  for (const p of added) {
    const found = sub.podIssues.get(key(p.namespace, p.name));
    if (found) podIssues.set(key(p.namespace, p.name), found);
  }
  const issues: Issue[] = [];
  if (podIssues.size > 0) for (const p of snapshot.pods) issues.push(...(podIssues.get(key(p.namespace, p.name)) ?? []));
  const selected = new Map(previous.selected);
  for (const s of services.removed) selected.delete(key(s.namespace, s.name));
  for (const k of affected) {
    const list = sub.selected.get(k);
    if (list) selected.set(k, list);
  }

  const build: ServiceBuild = { services: serviceNodes, pods, issues, selected, nodes, podIssues, distinctNames: true };
  updatedFrom.set(pods, { pods: previous.pods, services: changedServices.length > 0, changes });
  return build;
}

/** Pods (present now, not new) that a removed Service version selected or an added one selects. */
function reselectedPods(previous: ServiceBuild, services: { added: ServiceInput[]; removed: ServiceInput[] }, snapshot: Snapshot, now: { has(p: PodInput): boolean }): Set<PodInput> {
  const found = new Set<PodInput>();
  for (const s of services.removed) for (const p of previous.selected.get(key(s.namespace, s.name)) ?? []) if (now.has(p) && previous.nodes.has(p)) found.add(p);
  const selecting = services.added.filter((s) => s.selector);
  if (selecting.length === 0) return found;
  const namespaces = new Set(selecting.map((s) => s.namespace));
  for (const p of snapshot.pods) {
    if (!namespaces.has(p.namespace) || !previous.nodes.has(p)) continue;
    if (selecting.some((s) => s.namespace === p.namespace && selects(s.selector, p.labels))) found.add(p);
  }
  return found;
}

/** The Services that select any of these pods (with its labels then: a changed pod counts with its old ones and its new ones). */
function servicesSelecting(pods: Iterable<PodInput>, services: readonly ServiceInput[]): Set<ServiceInput> {
  const out = new Set<ServiceInput>();
  const byNamespace = new Map<string, PodInput[]>();
  for (const p of pods) {
    const list = byNamespace.get(p.namespace);
    if (list) list.push(p);
    else byNamespace.set(p.namespace, [p]);
  }
  if (byNamespace.size === 0) return out;
  for (const s of services) {
    const candidates = s.selector ? byNamespace.get(s.namespace) : undefined;
    if (candidates?.some((p) => selects(s.selector, p.labels))) out.add(s);
  }
  return out;
}

/** Two arrays sorted by key, merged. */
/**
 * The previous pods (sorted by key) without the gone ones, the renewed ones in their place and
 * the fresh ones (sorted) merged in: one pass, no set of keys. Undefined when a fresh pod's key
 * is a kept pod's (two pods with one name).
 */
function mergePods(previous: readonly PodNode[], gone: ReadonlySet<PodNode | undefined>, renewed: ReadonlyMap<PodNode | undefined, PodNode>, fresh: readonly PodNode[]): PodNode[] | undefined {
  for (let j = 1; j < fresh.length; j++) if (byKey(fresh[j - 1] as PodNode, fresh[j] as PodNode) === 0) return undefined;
  const out: PodNode[] = [];
  let j = 0;
  for (const before of previous) {
    if (gone.has(before)) continue;
    const node = renewed.get(before) ?? before;
    for (; j < fresh.length; j++) {
      const order = byKey(fresh[j] as PodNode, node);
      if (order === 0) return undefined;
      if (order > 0) break;
      out.push(fresh[j] as PodNode);
    }
    out.push(node);
  }
  for (; j < fresh.length; j++) out.push(fresh[j] as PodNode);
  return out;
}
