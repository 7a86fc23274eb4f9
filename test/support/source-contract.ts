/**
 * The contract every snapshot source keeps (a YAML folder, a Kubernetes cluster): the same
 * objects give the same mesh. One suite of assertions runs against each source.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { buildTopology, type Snapshot } from '../../src/model/index.ts';

const NS = 'contract';

/** The objects, as a user writes them; pods carry the IP and readiness a kubelet would report. */
export const CONTRACT_OBJECTS: Record<string, unknown>[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, annotations: { 'skiff.dev/access': 'permissive' } } },
  ...[['web', { app: 'web' }], ['web-v1', { app: 'web', version: 'v1' }], ['web-v2', { app: 'web', version: 'v2' }]].map(([name, selector]) => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  })),
  ...(['v1', 'v2'] as const).map((v, i) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${v}-0`, namespace: NS, labels: { app: 'web', version: v } },
    spec: { serviceAccountName: 'web', containers: [{ name: 'app', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }, { name: 'skiff-proxy', image: 'skiff' }] },
    status: { phase: 'Running', podIP: `10.244.9.${i + 1}`, conditions: [{ type: 'Ready', status: 'True' }] },
  })),
  { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { name: 'web', namespace: NS }, spec: { service: 'web', backends: [{ service: 'web-v1', weight: 90 }, { service: 'web-v2', weight: 10 }] } },
  { apiVersion: 'specs.smi-spec.io/v1alpha2', kind: 'HTTPRouteGroup', metadata: { name: 'api', namespace: NS }, matches: [{ name: 'read', pathRegex: '/.*', methods: ['GET'], headers: [{ 'x-tenant': 'a.*' }] }] },
  { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'TCPRoute', metadata: { name: 'metrics', namespace: NS }, spec: { matches: { ports: [8080] } } },
  { apiVersion: 'access.smi-spec.io/v1alpha1', kind: 'TrafficTarget', metadata: { name: 'readers', namespace: NS }, destination: { kind: 'ServiceAccount', name: 'web', namespace: NS, port: 8080 }, sources: [{ kind: 'ServiceAccount', name: 'client', namespace: NS }], specs: [{ kind: 'HTTPRouteGroup', name: 'api', matches: ['read'] }] },
];

/** Asserts what any source must deliver for CONTRACT_OBJECTS. */
export function checkSourceContract(snapshot: Snapshot): void {
  const topology = buildTopology(snapshot);
  const only = <T extends { namespace: string }>(xs: T[]) => xs.filter((x) => x.namespace === NS);
  equal(topology.namespaces.find((n) => n.name === NS)?.accessMode, 'permissive');
  deepStrictEqual(only(topology.services).map((s) => `${s.name}:${s.ports.map((p) => `${p.port}>${p.endpoints.map((e) => `${e.address}:${e.port}`).join('+')}`).join(',')}`), [
    'web:80>10.244.9.1:8080+10.244.9.2:8080', 'web-v1:80>10.244.9.1:8080', 'web-v2:80>10.244.9.2:8080',
  ]);
  deepStrictEqual(only(topology.pods).map((p) => `${p.name} ${p.identity} meshed=${p.meshed} ready=${p.ready}`), [
    'web-v1-0 spiffe://cluster.local/ns/contract/sa/web meshed=true ready=true',
    'web-v2-0 spiffe://cluster.local/ns/contract/sa/web meshed=true ready=true',
  ]);
  const split = only(topology.splits)[0];
  ok(split?.active, JSON.stringify(split?.issues));
  deepStrictEqual(split.ports[0]?.backends.map((b) => `${b.service} ${b.weight}`), ['contract/web-v1 90', 'contract/web-v2 10']);
  const target = only(topology.targets)[0];
  ok(target?.active);
  deepStrictEqual(target.rules, [{ kind: 'HTTPRouteGroup', name: 'api', protocols: ['http'], ports: [8080], http: [{ name: 'api/read', pathRegex: '/.*', methods: ['GET'], headers: [{ name: 'x-tenant', regex: 'a.*' }] }] }]);
  deepStrictEqual(only(topology.portRoutes).map((r) => `${r.kind} ${r.name} ${r.ports?.join(',')}`), ['TCPRoute metrics 8080']);
  deepStrictEqual([...only(topology.splits), ...only(topology.targets), ...only(topology.routeGroups), ...only(topology.portRoutes)].flatMap((n) => n.issues), []);
}
