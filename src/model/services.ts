/**
 * Services, pods and endpoints: which pods back which Service port (selectors and named
 * target ports, as kube's endpoints controller does), each pod's identity and inbound ports.
 */
import { issue, type Issue } from '../errors/issue.ts';
import type { EndpointSliceInput, PodInput, ServiceInput, ServicePortInput, Snapshot } from './snapshot.ts';
import type { EndpointNode, InboundPortNode, PodNode, Protocol, ServiceNode, ServicePortNode } from './topology.ts';
import { byKey, key, sortedUnique, spiffeId } from './keys.ts';

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
}

export function buildServicesAndPods(snapshot: Snapshot): ServiceBuild {
  const { trustDomain } = snapshot.mesh;
  const podsByNamespace = new Map<string, PodInput[]>();
  for (const pod of snapshot.pods) {
    const list = podsByNamespace.get(pod.namespace) ?? [];
    list.push(pod);
    podsByNamespace.set(pod.namespace, list);
  }
  const slicesByService = new Map<string, EndpointSliceInput[]>();
  for (const slice of snapshot.endpointSlices) {
    const k = key(slice.namespace, slice.service);
    slicesByService.set(k, [...(slicesByService.get(k) ?? []), slice]);
  }

  const inbound = new Map<string, Map<number, InboundPortNode>>();
  const podServices = new Map<string, string[]>();
  const issues: Issue[] = [];

  const services = snapshot.services.map((svc): ServiceNode => {
    const serviceKey = key(svc.namespace, svc.name);
    const ref = { kind: 'Service', namespace: svc.namespace, name: svc.name };
    const selected = svc.selector ? (podsByNamespace.get(svc.namespace) ?? []).filter((p) => selects(svc.selector, p.labels)) : [];
    for (const pod of selected) {
      const podKey = key(pod.namespace, pod.name);
      podServices.set(podKey, [...(podServices.get(podKey) ?? []), serviceKey]);
    }
    const nodeIssues: Issue[] = [];
    const ports = svc.ports.map((port): ServicePortNode => {
      const protocol = portProtocol(port);
      let endpoints: EndpointNode[];
      if (svc.selector) {
        endpoints = [];
        for (const pod of selected) {
          const target = resolveTargetPort(port, pod);
          const podKey = key(pod.namespace, pod.name);
          if (target === undefined) {
            nodeIssues.push(issue('SKIFF_W_SERVICE_TARGET_PORT', `spec.ports[${svc.ports.indexOf(port)}].targetPort`, `pod ${pod.name} declares no container port named "${String(port.targetPort)}"`, ref));
            continue;
          }
          const ports = inbound.get(podKey) ?? new Map<number, InboundPortNode>();
          const entry = ports.get(target) ?? { port: target, protocol, services: [], aliases: [] };
          entry.services = sortedUnique([...entry.services, serviceKey]);
          if (port.port !== target) entry.aliases = sortedUnique([...entry.aliases, port.port]);
          ports.set(target, entry);
          inbound.set(podKey, ports);
          if (pod.ip) endpoints.push({ pod: podKey, address: pod.ip, port: target, ready: pod.ready });
        }
      } else {
        endpoints = endpointsFromSlices(svc, port, slicesByService.get(serviceKey) ?? []);
      }
      endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
      return { ...(port.name ? { name: port.name } : {}), port: port.port, protocol, targetPort: port.targetPort ?? port.port, endpoints };
    });
    return { key: serviceKey, namespace: svc.namespace, name: svc.name, ...(svc.clusterIP ? { clusterIP: svc.clusterIP } : {}), ports, issues: nodeIssues };
  });

  const pods = snapshot.pods.map((pod): PodNode => {
    const podKey = key(pod.namespace, pod.name);
    const serviceAccount = pod.serviceAccount || 'default';
    const declared = new Map(inbound.get(podKey) ?? []);
    for (const c of pod.containerPorts) {
      if (!declared.has(c.containerPort)) declared.set(c.containerPort, { port: c.containerPort, protocol: portProtocol({ port: c.containerPort, name: c.name, protocol: c.protocol }), services: [], aliases: [] });
    }
    return {
      key: podKey,
      namespace: pod.namespace,
      name: pod.name,
      ...(pod.ip ? { address: pod.ip } : {}),
      ready: pod.ready,
      serviceAccount,
      identity: spiffeId(trustDomain, pod.namespace, serviceAccount),
      workload: pod.owner ?? { kind: 'Pod', name: pod.name },
      meshed: pod.meshed,
      ...(pod.meshed && pod.meshPort ? { meshPort: pod.meshPort } : {}),
      services: sortedUnique(podServices.get(podKey) ?? []),
      inboundPorts: [...declared.values()].sort((a, b) => a.port - b.port),
    };
  });
  services.sort(byKey);
  pods.sort(byKey);
  return { services, pods, issues };
}
