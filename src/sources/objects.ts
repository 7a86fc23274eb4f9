/**
 * Kubernetes objects (as the API returns them, or as written in YAML) → the model's snapshot
 * inputs. The one adapter both sources use (the Kubernetes informers and the YAML folder), so
 * "meshed", "ready" and "which workload" mean the same everywhere. Pure, and defensive: any
 * field may be missing or of the wrong type.
 *
 * - meshed: the pod runs a `skiff-proxy` container or native sidecar (what injection adds), or, where the
 *   source runs or injects pods itself (local mode, explain on YAML), it does not opt out with
 *   `skiff.dev/inject: "false"` (or `disabled`);
 * - ready: not being deleted, and the Ready condition is True; a pod with no conditions at
 *   all counts as ready only where the source says so (YAML written by hand has no status);
 * - workload: the controlling owner, following ReplicaSet → Deployment by the
 *   pod-template-hash convention; a pod without owner is its own workload;
 * - container ports: every container's but the sidecar's.
 */
import { INJECT_ANNOTATION, injectionSetting } from '../inject/annotations.ts';
import { PROXY_CONTAINER } from '../inject/pod.ts';
import { DEFAULT_MESH_PORT, MESH_PORT_ANNOTATION, OUTBOUND_SCOPE_KEY, type ContainerPortInput, type EndpointSliceInput, type NamespaceInput, type PodInput, type ServiceInput } from '../model/index.ts';

export { INJECT_ANNOTATION, PROXY_CONTAINER };

type Json = Record<string, unknown>;

export function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function strMap(v: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(obj(v)).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
}

export function toNamespace(o: unknown): NamespaceInput {
  const meta = obj(obj(o).metadata);
  return { name: str(meta.name) ?? '', labels: strMap(meta.labels), annotations: strMap(meta.annotations) };
}

export function toService(o: unknown): ServiceInput {
  const meta = obj(obj(o).metadata);
  const spec = obj(obj(o).spec);
  return {
    namespace: str(meta.namespace) ?? 'default', name: str(meta.name) ?? '',
    ...(Object.keys(obj(meta.labels)).length > 0 ? { labels: strMap(meta.labels) } : {}),
    ...(Object.keys(obj(spec.selector)).length > 0 ? { selector: strMap(spec.selector) } : {}),
    ...(str(spec.clusterIP) && spec.clusterIP !== 'None' ? { clusterIP: str(spec.clusterIP) as string } : {}),
    ports: arr(spec.ports).map((p) => {
      const port = obj(p);
      return {
        port: Number(port.port),
        ...(str(port.name) ? { name: str(port.name) as string } : {}),
        ...(typeof port.targetPort === 'number' || typeof port.targetPort === 'string' ? { targetPort: port.targetPort } : {}),
        ...(str(port.protocol) ? { protocol: str(port.protocol) as string } : {}),
        ...(str(port.appProtocol) ? { appProtocol: str(port.appProtocol) as string } : {}),
      };
    }),
  };
}

function controllingRef(meta: Json): Json | undefined {
  const refs = arr(meta.ownerReferences).map(obj);
  return refs.find((r) => r.controller === true) ?? refs[0];
}

/** The direct controller (a ReplicaSet, say), when the pod has one. */
function controllerOf(meta: Json): { kind: string; name: string } | undefined {
  const ref = controllingRef(meta);
  return ref && str(ref.kind) && str(ref.name) ? { kind: str(ref.kind) as string, name: str(ref.name) as string } : undefined;
}

function workloadOf(meta: Json, fallback: string): { kind: string; name: string } {
  const ref = controllingRef(meta);
  if (!ref || !str(ref.kind) || !str(ref.name)) return { kind: 'Pod', name: fallback };
  const hash = strMap(meta.labels)['pod-template-hash'];
  const name = str(ref.name) as string;
  if (ref.kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: name.slice(0, -hash.length - 1) };
  return { kind: str(ref.kind) as string, name };
}

export interface PodOptions {
  /** The source runs or injects pods itself, so pods are meshed unless they opt out. */
  injects: boolean;
  /** A pod with no status conditions counts as ready (hand-written YAML). */
  readyWithoutStatus: boolean;
  /** The workload, when the pod comes from a template the source expands (local mode). */
  workload?: { kind: string; name: string };
  /** The address, when the object has no status.podIP. */
  ip?: string;
}

export function toPod(o: unknown, options: PodOptions): PodInput {
  const meta = obj(obj(o).metadata);
  const spec = obj(obj(o).spec);
  const status = obj(obj(o).status);
  const name = str(meta.name) ?? '';
  const annotations = strMap(meta.annotations);
  const containers = arr(spec.containers).map(obj);
  // Injected as a native sidecar (an init container that keeps running) or as a plain container.
  const hasProxy = [...containers, ...arr(spec.initContainers).map(obj)].some((c) => c.name === PROXY_CONTAINER);
  const conditions = arr(status.conditions).map(obj);
  const readyCondition = conditions.find((c) => c.type === 'Ready');
  const ready = meta.deletionTimestamp === undefined && (readyCondition ? readyCondition.status === 'True' : options.readyWithoutStatus && conditions.length === 0);
  const containerPorts: ContainerPortInput[] = containers.filter((c) => c.name !== PROXY_CONTAINER).flatMap((c) => arr(c.ports).map(obj).map((p) => ({
    containerPort: Number(p.containerPort), ...(str(p.name) ? { name: str(p.name) as string } : {}), ...(str(p.protocol) ? { protocol: str(p.protocol) as string } : {}),
  }))).filter((p) => Number.isInteger(p.containerPort));
  const ip = str(status.podIP) ?? options.ip;
  return {
    namespace: str(meta.namespace) ?? 'default', name,
    ...(ip ? { ip } : {}),
    labels: strMap(meta.labels), serviceAccount: str(spec.serviceAccountName) ?? 'default',
    owner: options.workload ?? workloadOf(meta, name),
    ...(controllerOf(meta) ? { controller: controllerOf(meta) as { kind: string; name: string } } : {}),
    ...(str(spec.nodeName) ? { nodeName: str(spec.nodeName) as string } : {}),
    ready, containerPorts,
    meshed: hasProxy || (options.injects && injectionSetting(annotations[INJECT_ANNOTATION]) !== false),
    meshPort: Number(annotations[MESH_PORT_ANNOTATION] ?? DEFAULT_MESH_PORT),
    ...(annotations[OUTBOUND_SCOPE_KEY] !== undefined ? { outboundScope: annotations[OUTBOUND_SCOPE_KEY] } : {}),
  };
}

export function toEndpointSlice(o: unknown): EndpointSliceInput | undefined {
  const meta = obj(obj(o).metadata);
  const service = strMap(meta.labels)['kubernetes.io/service-name'];
  if (!service) return undefined;
  return {
    namespace: str(meta.namespace) ?? 'default', name: str(meta.name) ?? '', service,
    ports: arr(obj(o).ports).map(obj).map((p) => ({ ...(str(p.name) ? { name: str(p.name) as string } : {}), port: Number(p.port) })),
    endpoints: arr(obj(o).endpoints).map(obj).map((ep) => {
      const pod = str(obj(ep.targetRef).name);
      return { addresses: arr(ep.addresses).filter((a): a is string => typeof a === 'string'), ready: obj(ep.conditions).ready !== false, ...(pod ? { pod } : {}) };
    }),
  };
}
