/**
 * Kubernetes-style YAML documents → a model Snapshot. Used by local mode, `skiff explain` and
 * the golden tests. Deployments and StatefulSets become `replicas` pods named `<name>-<i>`
 * with addresses from a deterministic allocator; Pods are taken as written. A
 * `skiff.dev/v1alpha1 MeshConfig` document sets mesh-wide settings.
 */
import { isSmiDocument, parseSmiObject } from '../../api/index.ts';
import { DEFAULT_MESH, type MeshSettings, type PodInput, type Snapshot } from '../../model/index.ts';
import { isMeshConfig, readMeshConfig } from '../mesh-config.ts';
import { obj, str, toEndpointSlice, toNamespace, toPod, toService } from '../objects.ts';

export { INJECT_ANNOTATION } from '../objects.ts';

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
  /**
   * The pods made from each Deployment or StatefulSet document, kept across calls by the
   * caller (local mode, whose folder reader keeps the documents of files it did not read
   * again): a change elsewhere in the folder does not make them again. A kept pod is used
   * only if its address is still the one allocated.
   */
  generated?: WeakMap<object, readonly PodInput[]>;
}

/** Local mode and explain run (inject) pods themselves; YAML written by hand has no status. */
const FROM_YAML = { injects: true, readyWithoutStatus: true } as const;

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
    if (isMeshConfig(d)) {
      const read = readMeshConfig(d, snapshot.mesh);
      snapshot.mesh = { ...read.mesh, ...options.mesh };
      if (read.issues.length > 0) snapshot.issues = [...(snapshot.issues ?? []), ...read.issues];
      continue;
    }
    if (!name) continue;
    switch (d.kind) {
      case 'Namespace':
        snapshot.namespaces.push(toNamespace(d));
        break;
      case 'Service':
        snapshot.services.push(toService({ ...d, metadata: { ...meta, namespace } }));
        break;
      case 'Deployment':
      case 'StatefulSet': {
        const replicas = spec.replicas === undefined ? 1 : Number(spec.replicas);
        const template = obj(spec.template);
        const kept = options.generated?.get(d);
        const made: PodInput[] = [];
        for (let i = 0; i < replicas; i++) {
          const pod = `${name as string}-${i}`;
          const ip = allocate(namespace, pod);
          const before = kept?.[i];
          const input = before?.ip === ip ? before : toPod({ metadata: { ...obj(template.metadata), name: pod, namespace }, spec: template.spec }, { ...FROM_YAML, workload: { kind: d.kind, name: name as string }, ip });
          made.push(input);
          snapshot.pods.push(input);
          options.onPod?.(input, template);
        }
        options.generated?.set(d, made);
        break;
      }
      case 'Pod': {
        const pod = toPod({ ...d, metadata: { ...meta, namespace } }, { ...FROM_YAML, ip: str(obj(d.status).podIP) ?? allocate(namespace, name as string) });
        snapshot.pods.push(pod);
        options.onPod?.(pod, { metadata: meta, spec });
        break;
      }
      case 'EndpointSlice': {
        const slice = toEndpointSlice({ ...d, metadata: { ...meta, namespace } });
        if (slice) snapshot.endpointSlices.push(slice);
        break;
      }
      default:
        break;
    }
  }
  return snapshot;
}
