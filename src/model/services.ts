/**
 * Services, pods and endpoints: which pods back which Service port (selectors and named
 * target ports, as kube's endpoints controller does), each pod's identity and inbound ports.
 */
import { LayeredMap } from '../lib/layered-map.ts';
import { OUTBOUND_SCOPE_KEY, outboundScopeOf } from './outbound-scope.ts';
import { issue, type Issue } from '../errors/issue.ts';
import type { EndpointSliceInput, PodInput, ServiceInput, ServicePortInput, Snapshot } from './snapshot.ts';
import type { EndpointNode, InboundPortNode, PodNode, Protocol, ServiceNode, ServicePortNode } from './topology.ts';
import { byKey, compareStrings, key, sortedUnique, spiffeId } from './keys.ts';

const TCP_APP_PROTOCOLS = /^(tcp|tls|https|mysql|mongo|redis|postgres|postgresql|kafka|amqp|zookeeper|smtp)$/i;
const TCP_NAME_PREFIX = /^(tcp|tls|https|mysql|mongo|redis|postgres|kafka|amqp|zookeeper|smtp)(-|$)/i;

/**
 * `appProtocol` decides, then the port name prefix (`tcp-db`, `https`, `redis`); every other
 * TCP port is treated as HTTP/1.1, the protocol of almost every mesh workload. UDP stays UDP.
 */
export function portProtocol(port: ServicePortInput): Protocol {
  if ((port.protocol ?? 'TCP').toUpperCase() === 'UDP') return 'udp';
  const app = port.appProtocol?.replace(/^kubernetes\.io\//, '');
  if (app) return TCP_APP_PROTOCOLS.test(app) ? 'tcp' : 'http';
  return port.name && TCP_NAME_PREFIX.test(port.name) ? 'tcp' : 'http';
}

export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function resolveTargetPort(port: ServicePortInput, pod: PodInput): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  return pod.containerPorts.find((c) => c.name === target)?.containerPort;
}

function endpointsFromSlices(service: ServiceInput, port: ServicePortInput, slices: EndpointSliceInput[]): EndpointNode[] {
  const out: EndpointNode[] = [];
  for (const slice of slices) {
    const slicePort = slice.ports.find((p) => (p.name ?? '') === (port.name ?? '')) ?? (slice.ports.length === 1 ? slice.ports[0] : undefined);
    if (!slicePort) continue;
    for (const endpoint of slice.endpoints) {
      for (const address of endpoint.addresses) {
        out.push({ ...(endpoint.pod ? { pod: key(service.namespace, endpoint.pod) } : {}), address, port: slicePort.port, ready: endpoint.ready ?? true });
      }
    }
  }
  return out;
}

export interface ServiceBuild {
  services: ServiceNode[];
  pods: PodNode[];
  issues: Issue[];
  /** What an update needs (services-update.ts): each Service's selected pods, in input order. */
  selected: Map<string, PodInput[]>;
  /** The node built for each pod input (an update makes the next version from this one's). */
  nodes: LayeredMap<PodInput, PodNode>;
  /** Issues of each pod (`ns/name`), when it has some. */
  podIssues: Map<string, Issue[]>;
  /** Whether no two Services and no two pods share a name (a folder may say so; an update then gives way to a build from scratch). */
  distinctNames: boolean;
}

export function buildServicesAndPods(snapshot: Snapshot): ServiceBuild {
  const { trustDomain } = snapshot.mesh;
  const inputs = snapshot.pods;
  const slicesByService = new Map<string, EndpointSliceInput[]>();
  for (const slice of snapshot.endpointSlices) {
    const k = key(slice.namespace, slice.service);
    slicesByService.set(k, [...(slicesByService.get(k) ?? []), slice]);
  }

  // Pods are addressed by their index; per-pod facts live in arrays, not maps.
  const podKeys = inputs.map((p) => key(p.namespace, p.name));
  const podServices: (string[] | undefined)[] = new Array(inputs.length);
  const inbound: (InboundPortNode[] | undefined)[] = new Array(inputs.length);

  // Pods by namespace and label, so a selector only looks at pods carrying its first label.
  const podsByLabel = new Map<string, number[]>();
  inputs.forEach((pod, i) => {
    for (const k in pod.labels) {
      const indexKey = `${pod.namespace}\u0000${k}\u0000${pod.labels[k]}`;
      const list = podsByLabel.get(indexKey);
      if (list) list.push(i);
      else podsByLabel.set(indexKey, [i]);
    }
  });
  const selectedPods = (svc: ServiceInput): number[] => {
    const selector = svc.selector;
    if (!selector) return [];
    for (const k in selector) {
      const candidates = podsByLabel.get(`${svc.namespace}\u0000${k}\u0000${selector[k]}`) ?? [];
      return candidates.filter((i) => selects(selector, (inputs[i] as PodInput).labels));
    }
    return [];
  };
  const issues: Issue[] = [];
  const selectedBy = new Map<string, PodInput[]>();
  const podIssues = new Map<string, Issue[]>();

  const services = snapshot.services.map((svc): ServiceNode => {
    const serviceKey = key(svc.namespace, svc.name);
    const ref = { kind: 'Service', namespace: svc.namespace, name: svc.name };
    const selected = selectedPods(svc);
    selectedBy.set(serviceKey, selected.map((i) => inputs[i] as PodInput));
    for (const i of selected) (podServices[i] ??= []).push(serviceKey);
    const nodeIssues: Issue[] = [];
    const ports = svc.ports.map((port, portIndex): ServicePortNode => {
      const protocol = portProtocol(port);
      let endpoints: EndpointNode[];
      if (svc.selector) {
        endpoints = [];
        for (const i of selected) {
          const pod = inputs[i] as PodInput;
          const target = resolveTargetPort(port, pod);
          if (target === undefined) {
            nodeIssues.push(issue('SKIFF_W_SERVICE_TARGET_PORT', `spec.ports[${portIndex}].targetPort`, `pod ${pod.name} declares no container port named "${String(port.targetPort)}"`, ref));
            continue;
          }
          const ports = (inbound[i] ??= []);
          let entry = ports.find((e) => e.port === target);
          if (!entry) {
            entry = { port: target, protocol, services: [], aliases: [] };
            ports.push(entry);
          }
          if (!entry.services.includes(serviceKey)) entry.services.push(serviceKey);
          if (port.port !== target && !entry.aliases.includes(port.port)) entry.aliases.push(port.port);
          if (pod.ip) endpoints.push({ pod: podKeys[i] as string, address: pod.ip, port: target, ready: pod.ready });
        }
      } else {
        endpoints = endpointsFromSlices(svc, port, slicesByService.get(serviceKey) ?? []);
      }
      if (endpoints.length > 1) endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
      return { name: port.name, port: port.port, protocol, targetPort: port.targetPort ?? port.port, endpoints };
    });
    return { key: serviceKey, namespace: svc.namespace, name: svc.name, clusterIP: svc.clusterIP, ports, split: undefined, issues: nodeIssues };
  });

  const identities = new Map<string, string>();
  const workloads = new Map<string, PodNode['workload']>();
  const namespaceScopes = new Map(snapshot.namespaces.map((n) => [n.name, n.annotations?.[OUTBOUND_SCOPE_KEY]]));
  const scopeOf = (pod: PodInput, podKey: string) => {
    const found: Issue[] = [];
    const scope = outboundScopeOf(pod, namespaceScopes.get(pod.namespace), found);
    if (found.length > 0) {
      issues.push(...found);
      podIssues.set(podKey, found);
    }
    return scope;
  };
  const nodes = new Map<PodInput, PodNode>();
  const pods = inputs.map((pod, i): PodNode => {
    const serviceAccount = pod.serviceAccount || 'default';
    const saKey = `${pod.namespace}/${serviceAccount}`;
    let identity = identities.get(saKey);
    if (identity === undefined) {
      identity = spiffeId(trustDomain, pod.namespace, serviceAccount);
      identities.set(saKey, identity);
    }
    const owner = pod.owner ?? { kind: 'Pod', name: pod.name };
    const workloadKey = `${pod.namespace}/${owner.kind}/${owner.name}`;
    let workload = workloads.get(workloadKey);
    if (!workload) {
      workload = { kind: owner.kind, name: owner.name };
      workloads.set(workloadKey, workload);
    }
    const ports = inbound[i] ?? [];
    for (const entry of ports) {
      if (entry.services.length > 1) entry.services.sort(compareStrings);
      if (entry.aliases.length > 1) entry.aliases.sort((a, b) => a - b);
    }
    for (const c of pod.containerPorts) {
      if (!ports.some((e) => e.port === c.containerPort)) ports.push({ port: c.containerPort, protocol: portProtocol({ port: c.containerPort, name: c.name, protocol: c.protocol }), services: [], aliases: [] });
    }
    if (ports.length > 1) ports.sort((a, b) => a.port - b.port);
    const services = podServices[i] ?? [];
    // One object shape for every pod (absent values stay undefined and are left out of JSON).
    const node: PodNode = {
      key: podKeys[i] as string,
      namespace: pod.namespace,
      name: pod.name,
      address: pod.ip || undefined,
      ready: pod.ready,
      serviceAccount,
      identity,
      workload,
      meshed: pod.meshed,
      meshPort: pod.meshed && pod.meshPort ? pod.meshPort : undefined,
      outboundScope: pod.meshed ? scopeOf(pod, podKeys[i] as string) : undefined,
      services: services.length > 1 ? sortedUnique(services) : services,
      inboundPorts: ports,
    };
    nodes.set(pod, node);
    return node;
  });
  services.sort(byKey);
  pods.sort(byKey);
  const distinctNames = selectedBy.size === services.length && pods.every((p, i) => i === 0 || (pods[i - 1] as PodNode).key !== p.key);
  return { services, pods, issues, selected: selectedBy, nodes: LayeredMap.of(nodes), podIssues, distinctNames };
}
