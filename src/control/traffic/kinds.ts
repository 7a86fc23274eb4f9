/**
 * The resources the TrafficMetrics API serves (SMI metrics.smi-spec.io/v1alpha1): the plural
 * in the URL, the Kubernetes kind, scope; and how a pod maps onto each kind ("aggregates are
 * the sum of their pods"). Pure.
 */
import type { Peer } from '../../config/index.ts';

export const METRICS_GROUP = 'metrics.smi-spec.io';
export const METRICS_VERSION = 'v1alpha1';
export const METRICS_API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

export const RESOURCE_KINDS = {
  namespaces: { kind: 'Namespace', singular: 'namespace', namespaced: false },
  nodes: { kind: 'Node', singular: 'node', namespaced: false },
  pods: { kind: 'Pod', singular: 'pod', namespaced: true },
  replicationcontrollers: { kind: 'ReplicationController', singular: 'replicationcontroller', namespaced: true },
  services: { kind: 'Service', singular: 'service', namespaced: true },
  daemonsets: { kind: 'DaemonSet', singular: 'daemonset', namespaced: true },
  deployments: { kind: 'Deployment', singular: 'deployment', namespaced: true },
  replicasets: { kind: 'ReplicaSet', singular: 'replicaset', namespaced: true },
  statefulsets: { kind: 'StatefulSet', singular: 'statefulset', namespaced: true },
  jobs: { kind: 'Job', singular: 'job', namespaced: true },
  trafficsplits: { kind: 'TrafficSplit', singular: 'trafficsplit', namespaced: true },
} as const;

export type ResourcePlural = keyof typeof RESOURCE_KINDS;

export function isResourcePlural(s: string): s is ResourcePlural {
  return Object.hasOwn(RESOURCE_KINDS, s);
}

/** What the control plane knows of a pod, for mapping it onto resources. */
export interface PodFacts {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  node?: string;
  /** Its controllers: the direct one (e.g. a ReplicaSet) and the workload above it (its Deployment). */
  owners: { kind: string; name: string }[];
  /** Services (names in its namespace) that select it. */
  services: string[];
}

export interface SplitFacts {
  namespace: string;
  name: string;
  /** The root (apex) Service's name. */
  apex: string;
  backends: { service: string; weight: number }[];
  labels: Record<string, string>;
}

/** Everything the API answers from besides the traffic: a snapshot, rebuilt with the mesh. */
export interface Catalog {
  pods: ReadonlyMap<string, PodFacts>;
  namespaceLabels: ReadonlyMap<string, Record<string, string>>;
  serviceLabels: ReadonlyMap<string, Record<string, string>>;
  splits: readonly SplitFacts[];
}

export const EMPTY_CATALOG: Catalog = { pods: new Map(), namespaceLabels: new Map(), serviceLabels: new Map(), splits: [] };

/** The names of the resources of `plural` a pod belongs to (none, one, or several Services). */
/** `ref` is a pod as the traffic names it (a Peer, or a Reporter): namespace, pod, and its workload. */
export function resourcesOf(ref: Peer, plural: ResourcePlural, catalog: Catalog): string[] {
  const facts = ref.namespace && ref.pod ? catalog.pods.get(`${ref.namespace}/${ref.pod}`) : undefined;
  switch (plural) {
    case 'namespaces': return ref.namespace ? [ref.namespace] : [];
    case 'pods': return ref.pod ? [ref.pod] : [];
    case 'nodes': return facts?.node ? [facts.node] : [];
    case 'services': return facts?.services ?? [];
    case 'trafficsplits': return [];
    default: {
      const kind = RESOURCE_KINDS[plural].kind;
      const owners = facts?.owners ?? (ref.kind && ref.name ? [{ kind: ref.kind, name: ref.name }] : []);
      return owners.filter((o) => o.kind === kind).map((o) => o.name);
    }
  }
}

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
}

/**
 * The resource an edge points at: the peer's resource of the same kind when it has one, else
 * its workload, else its pod, else just its namespace (a caller outside the mesh, or a
 * destination without a sidecar, has only what the traffic showed).
 */
export function edgeResources(ref: Peer, plural: ResourcePlural, catalog: Catalog): ObjectReference[] {
  const info = RESOURCE_KINDS[plural];
  const same = plural === 'trafficsplits' ? [] : resourcesOf(ref, plural, catalog);
  if (same.length) return same.map((name) => ({ kind: info.kind, ...(info.namespaced && ref.namespace ? { namespace: ref.namespace } : {}), name }));
  if (ref.kind && ref.name) return [{ kind: ref.kind, namespace: ref.namespace as string, name: ref.name }];
  if (ref.pod) return [{ kind: 'Pod', namespace: ref.namespace as string, name: ref.pod }];
  return [ref.namespace ? { namespace: ref.namespace } : {}];
}
