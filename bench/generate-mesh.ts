/** A generated mesh snapshot for benchmarks: namespaces × services × pods, splits and targets. */
import { PORTS } from '../src/lib/ports.ts';
import { parseSmiObject } from '../src/api/index.ts';
import { DEFAULT_MESH, type EndpointSliceInput, type PodInput, type ServiceInput, type Snapshot } from '../src/model/index.ts';

export const NAMESPACES = Number(process.env.NAMESPACES ?? 100);
export const SERVICES_PER_NS = Number(process.env.SERVICES_PER_NS ?? 100);
export const PODS_PER_SERVICE = Number(process.env.PODS_PER_SERVICE ?? 5);
export const SPLITS_PER_NS = Number(process.env.SPLITS_PER_NS ?? 20);
export const TARGETS_PER_NS = Number(process.env.TARGETS_PER_NS ?? 50);

/** TrafficSplit k of a namespace: root svc-3k, backends svc-3k+1 and svc-3k+2, `canary` % to the second. */
export function splitDocument(namespace: string, k: number, canary: number): unknown {
  const root = k * 3;
  return { apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', metadata: { name: `split-${k}`, namespace }, spec: { service: `svc-${root}`, backends: [{ service: `svc-${root + 1}`, weight: 100 - canary }, { service: `svc-${root + 2}`, weight: canary }] } };
}

/** The snapshot with the canary weight of some splits changed (`which(namespace, k)`), re-parsed as a source would. */
export function withCanaryWeight(snapshot: Snapshot, canary: number, which: (namespace: string, k: number) => boolean): Snapshot {
  return {
    ...snapshot,
    smi: snapshot.smi.map((o) => {
      const k = o.kind === 'TrafficSplit' ? Number(/^split-(\d+)$/.exec(o.ref.name ?? '')?.[1]) : NaN;
      return Number.isInteger(k) && which(o.ref.namespace ?? '', k) ? parseSmiObject(splitDocument(o.ref.namespace ?? '', k, canary)) : o;
    }),
  };
}

export function generate(): Snapshot {
  const services: ServiceInput[] = [];
  const pods: PodInput[] = [];
  // As a cluster reports them: one EndpointSlice per Service (Services with a selector take endpoints from pods; slices change with them).
  const endpointSlices: EndpointSliceInput[] = [];
  const smi: unknown[] = [];
  let ip = 0;
  for (let n = 0; n < NAMESPACES; n++) {
    const namespace = `ns-${n}`;
    for (let s = 0; s < SERVICES_PER_NS; s++) {
      const name = `svc-${s}`;
      services.push({ namespace, name, selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
      const slice: EndpointSliceInput = { namespace, name: `${name}-abcde`, service: name, ports: [{ name: 'http', port: 8080 }], endpoints: [] };
      endpointSlices.push(slice);
      for (let p = 0; p < PODS_PER_SERVICE; p++) {
        ip++;
        slice.endpoints.push({ addresses: [`10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`], ready: true, pod: `${name}-${p}` });
        pods.push({
          namespace, name: `${name}-${p}`, ip: `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`, labels: { app: name },
          serviceAccount: name, owner: { kind: 'Deployment', name }, ready: true, containerPorts: [{ name: 'http', containerPort: 8080 }], meshed: true, meshPort: PORTS.inbound,
        });
      }
    }
    smi.push({ apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name: 'api', namespace }, spec: { matches: [{ name: 'read', pathRegex: '/api/.*', methods: ['GET'] }, { name: 'write', pathRegex: '/api/.*', methods: ['POST', 'PUT'] }, { name: 'health', pathRegex: '/healthz' }] } });
    smi.push({ apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'TCPRoute', metadata: { name: 'http-port', namespace }, spec: { matches: { ports: [8080] } } });
    for (let k = 0; k < SPLITS_PER_NS; k++) {
      smi.push(splitDocument(namespace, k, 10));
    }
    for (let t = 0; t < TARGETS_PER_NS; t++) {
      const sources = [1, 2, 3].map((d) => ({ kind: 'ServiceAccount', name: `svc-${(t + d) % SERVICES_PER_NS}`, namespace }));
      smi.push({ apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: { name: `tt-${t}`, namespace }, spec: { destination: { kind: 'ServiceAccount', name: `svc-${t}`, namespace }, sources, rules: [{ kind: 'HTTPRouteGroup', name: 'api', matches: ['read'] }, { kind: 'TCPRoute', name: 'http-port' }] } });
    }
  }
  const parseStart = performance.now();
  const parsed = smi.map(parseSmiObject);
  console.log(`parse + validate ${smi.length} SMI objects: ${(performance.now() - parseStart).toFixed(0)} ms`);
  return { mesh: DEFAULT_MESH, namespaces: [], services, pods, endpointSlices, smi: parsed };
}

