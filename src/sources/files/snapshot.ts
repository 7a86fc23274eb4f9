/**
 * Kubernetes-style YAML documents → a model Snapshot. Used by local mode, `skiff explain` and
 * the golden tests. Deployments and StatefulSets become `replicas` pods named `<name>-<i>`
 * with addresses from a deterministic allocator; Pods are taken as written. A
 * `skiff.dev/v1alpha1 MeshConfig` document sets mesh-wide settings.
 */
import { isSmiDocument, parseSmiObject } from '../../api/index.ts';
import { DEFAULT_MESH, DEFAULT_MESH_PORT, MESH_PORT_ANNOTATION, type EndpointSliceInput, type MeshSettings, type NamespaceInput, type PodInput, type ServiceInput, type Snapshot } from '../../model/index.ts';

export const INJECT_ANNOTATION = 'skiff.dev/inject';

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function strMap(v: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(obj(v)).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Hands out pod addresses in order: base, base+1, … (skipping .0 and .255 octets). */
export function sequentialAddresses(base = '10.244.0.10'): () => string {
  const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
  let n = c * 256 + d;
  return () => {
    while (n % 256 === 0 || n % 256 === 255) n++;
    const address = `${a}.${b + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
    n++;
    return address;
  };
}

export interface SnapshotOptions {
  /** Address for each generated pod; default: sequential from 10.244.0.10. */
  allocate?: (namespace: string, pod: string) => string;
  mesh?: Partial<MeshSettings>;
  /** Sees every pod with the template it came from (local mode runs its containers). */
  onPod?: (pod: PodInput, template: Record<string, unknown>) => void;
}

function containerPorts(podSpec: Json): PodInput['containerPorts'] {
  return arr(podSpec.containers).flatMap((c) => arr(obj(c).ports).map((p) => {
    const port = obj(p);
    return { ...(str(port.name) ? { name: str(port.name) as string } : {}), containerPort: Number(port.containerPort), ...(str(port.protocol) ? { protocol: str(port.protocol) as string } : {}) };
  })).filter((p) => Number.isInteger(p.containerPort));
}

function podFromTemplate(namespace: string, name: string, template: Json, owner: { kind: string; name: string }, ip: string): PodInput {
  const meta = obj(template.metadata);
  const spec = obj(template.spec);
  const annotations = strMap(meta.annotations);
  const meshPort = Number(annotations[MESH_PORT_ANNOTATION] ?? DEFAULT_MESH_PORT);
  return {
    namespace, name, ip, labels: strMap(meta.labels),
    serviceAccount: str(spec.serviceAccountName) ?? 'default',
    owner, ready: true, containerPorts: containerPorts(spec),
    meshed: annotations[INJECT_ANNOTATION] !== 'false',
    meshPort,
  };
}

export function snapshotFromDocuments(documents: readonly unknown[], options: SnapshotOptions = {}): Snapshot {
  const allocate = options.allocate ?? (() => { const next = sequentialAddresses(); return () => next(); })();
  const snapshot: Snapshot = { mesh: { ...DEFAULT_MESH, ...options.mesh }, namespaces: [], services: [], pods: [], endpointSlices: [], smi: [] };
  for (const doc of documents) {
    if (isSmiDocument(doc)) {
      snapshot.smi.push(parseSmiObject(doc));
      continue;
    }
    const d = obj(doc);
    const meta = obj(d.metadata);
    const name = str(meta.name);
    const namespace = str(meta.namespace) ?? 'default';
    const spec = obj(d.spec);
    if (!name && d.kind !== 'MeshConfig') continue;
    switch (d.kind) {
      case 'MeshConfig':
        snapshot.mesh = { ...snapshot.mesh, ...(spec as Partial<MeshSettings>), ...options.mesh };
        break;
      case 'Namespace':
        snapshot.namespaces.push({ name: name as string, labels: strMap(meta.labels), annotations: strMap(meta.annotations) } satisfies NamespaceInput);
        break;
      case 'Service':
        snapshot.services.push({
          namespace, name: name as string,
          ...(Object.keys(obj(spec.selector)).length > 0 ? { selector: strMap(spec.selector) } : {}),
          ...(str(spec.clusterIP) && spec.clusterIP !== 'None' ? { clusterIP: str(spec.clusterIP) as string } : {}),
          ports: arr(spec.ports).map((p) => {
            const port = obj(p);
            return {
              port: Number(port.port),
              ...(str(port.name) ? { name: str(port.name) as string } : {}),
              ...(port.targetPort !== undefined ? { targetPort: port.targetPort as number | string } : {}),
              ...(str(port.protocol) ? { protocol: str(port.protocol) as string } : {}),
              ...(str(port.appProtocol) ? { appProtocol: str(port.appProtocol) as string } : {}),
            };
          }),
        } satisfies ServiceInput);
        break;
      case 'Deployment':
      case 'StatefulSet': {
        const replicas = spec.replicas === undefined ? 1 : Number(spec.replicas);
        for (let i = 0; i < replicas; i++) {
          const pod = `${name as string}-${i}`;
          const input = podFromTemplate(namespace, pod, obj(spec.template), { kind: d.kind, name: name as string }, allocate(namespace, pod));
          snapshot.pods.push(input);
          options.onPod?.(input, obj(spec.template));
        }
        break;
      }
      case 'Pod': {
        const status = obj(d.status);
        const pod = podFromTemplate(namespace, name as string, { metadata: meta, spec }, { kind: 'Pod', name: name as string }, str(status.podIP) ?? allocate(namespace, name as string));
        const readyCondition = arr(status.conditions).map(obj).find((c) => c.type === 'Ready');
        pod.ready = readyCondition === undefined || readyCondition.status === 'True';
        snapshot.pods.push(pod);
        options.onPod?.(pod, { metadata: meta, spec });
        break;
      }
      case 'EndpointSlice': {
        const service = strMap(meta.labels)['kubernetes.io/service-name'];
        if (!service) break;
        snapshot.endpointSlices.push({
          namespace, name: name as string, service,
          ports: arr(d.ports).map((p) => ({ ...(str(obj(p).name) ? { name: str(obj(p).name) as string } : {}), port: Number(obj(p).port) })),
          endpoints: arr(d.endpoints).map((e) => {
            const ep = obj(e);
            const pod = str(obj(ep.targetRef).name);
            return { addresses: arr(ep.addresses).filter((a): a is string => typeof a === 'string'), ready: obj(ep.conditions).ready !== false, ...(pod ? { pod } : {}) };
          }),
        } satisfies EndpointSliceInput);
        break;
      }
      default:
        break;
    }
  }
  return snapshot;
}
