/**
 * Kubernetes objects (as the API returns them) → the model's snapshot inputs. Pure.
 * A pod is meshed when it runs a container named `skiff-proxy` (what injection adds); its
 * workload is found through its owner: ReplicaSet → Deployment by the pod-template-hash
 * convention, otherwise the owner itself.
 */
import { DEFAULT_MESH_PORT, MESH_PORT_ANNOTATION, type ContainerPortInput, type EndpointSliceInput, type NamespaceInput, type PodInput, type ServiceInput } from '../../model/index.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const PROXY_CONTAINER = 'skiff-proxy';

export function toNamespace(o: Json): NamespaceInput {
  return { name: o.metadata?.name, labels: o.metadata?.labels ?? {}, annotations: o.metadata?.annotations ?? {} };
}

export function toService(o: Json): ServiceInput {
  const spec = o.spec ?? {};
  return {
    namespace: o.metadata?.namespace, name: o.metadata?.name,
    ...(spec.selector && Object.keys(spec.selector).length > 0 ? { selector: spec.selector } : {}),
    ...(spec.clusterIP && spec.clusterIP !== 'None' ? { clusterIP: spec.clusterIP } : {}),
    ports: (spec.ports ?? []).map((p: Json) => ({
      port: p.port, ...(p.name ? { name: p.name } : {}), ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
      ...(p.protocol ? { protocol: p.protocol } : {}), ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
  };
}

function owner(o: Json): { kind: string; name: string } {
  const ref = (o.metadata?.ownerReferences ?? []).find((r: Json) => r.controller) ?? o.metadata?.ownerReferences?.[0];
  if (!ref) return { kind: 'Pod', name: o.metadata?.name };
  const hash = o.metadata?.labels?.['pod-template-hash'];
  if (ref.kind === 'ReplicaSet' && hash && String(ref.name).endsWith(`-${hash}`)) return { kind: 'Deployment', name: String(ref.name).slice(0, -hash.length - 1) };
  return { kind: ref.kind, name: ref.name };
}

export function toPod(o: Json): PodInput {
  const spec = o.spec ?? {};
  const containers: Json[] = spec.containers ?? [];
  const meshed = containers.some((c) => c.name === PROXY_CONTAINER);
  const ready = (o.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True') && !o.metadata?.deletionTimestamp;
  const containerPorts: ContainerPortInput[] = containers.filter((c) => c.name !== PROXY_CONTAINER).flatMap((c) => (c.ports ?? []).map((p: Json) => ({
    containerPort: p.containerPort, ...(p.name ? { name: p.name } : {}), ...(p.protocol ? { protocol: p.protocol } : {}),
  })));
  return {
    namespace: o.metadata?.namespace, name: o.metadata?.name,
    ...(o.status?.podIP ? { ip: o.status.podIP } : {}),
    labels: o.metadata?.labels ?? {}, serviceAccount: spec.serviceAccountName ?? 'default', owner: owner(o),
    ready, containerPorts, meshed, meshPort: Number(o.metadata?.annotations?.[MESH_PORT_ANNOTATION] ?? DEFAULT_MESH_PORT),
  };
}

export function toEndpointSlice(o: Json): EndpointSliceInput | undefined {
  const service = o.metadata?.labels?.['kubernetes.io/service-name'];
  if (!service) return undefined;
  return {
    namespace: o.metadata?.namespace, name: o.metadata?.name, service,
    ports: (o.ports ?? []).map((p: Json) => ({ port: p.port, ...(p.name ? { name: p.name } : {}) })),
    endpoints: (o.endpoints ?? []).map((e: Json) => ({ addresses: e.addresses ?? [], ready: e.conditions?.ready !== false, ...(e.targetRef?.name ? { pod: e.targetRef.name } : {}) })),
  };
}
