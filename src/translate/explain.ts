/**
 * explain: the topology in words. For each destination service, who may call it on which
 * routes and ports and why; what each split resolves to; every problem. And one question at
 * a time: may identity X call host Y with this request, and where does it go?
 */
import { compileInbound, compileRoutes, HostTable, normalizeRequestTarget, type AccessDecision, type RequestFacts } from '../config/index.ts';
import { formatSpiffeId } from '../lib/spiffe.ts';
import type { Issue } from '../errors/issue.ts';
import { allIssues, type PodNode, type ServiceNode, type SplitNode, type Topology } from '../model/index.ts';
import { InboundBuilder } from './inbound.ts';
import { OutboundHalves } from './outbound.ts';
import { attachedPolicies, effectivePolicy, type EffectivePolicy } from './explain-policy.ts';
import { PolicyIndex } from './policy-attachment.ts';

export interface CallerView {
  source: string;
  via: string;
  protocols: string[];
  ports: number[] | 'all';
  routes: string[] | 'all';
}

export interface DestinationView {
  service: string;
  accessMode: string;
  ports: { port: number; protocol: string; targetPort: number | string }[];
  pods: { pod: string; identity: string; meshed: boolean }[];
  callers: CallerView[];
  split?: string;
  /** TrafficPolicies attached to the Service or to routes of its namespace. */
  policies: string[];
}

export interface SplitView {
  split: string;
  sourceVersion: string;
  active: boolean;
  root?: string;
  matches?: string[];
  ports: SplitNode['ports'];
}

export interface Explanation {
  destinations: DestinationView[];
  splits: SplitView[];
  issues: Issue[];
}

function podsOf(service: ServiceNode, pods: ReadonlyMap<string, PodNode>): PodNode[] {
  const keys = new Set(service.ports.flatMap((p) => p.endpoints.map((e) => e.pod)).filter((k): k is string => k !== undefined));
  return [...keys].sort().map((k) => pods.get(k)).filter((p): p is PodNode => p !== undefined);
}

export function explain(topology: Topology): Explanation {
  const pods = new Map(topology.pods.map((p) => [p.key, p]));
  const inbound = new InboundBuilder(topology);
  const destinations = topology.services.map((service): DestinationView => {
    const members = podsOf(service, pods);
    const callers = new Map<string, CallerView>();
    for (const pod of members) {
      for (const rule of inbound.build(pod).rules) {
        for (const source of rule.sources) {
          const view: CallerView = { source, via: rule.via, protocols: rule.protocols, ports: rule.ports ?? 'all', routes: rule.http ? rule.http.map((m) => m.name) : 'all' };
          callers.set(JSON.stringify(view), view);
        }
      }
    }
    const ns = topology.namespaces.find((n) => n.name === service.namespace);
    return {
      service: service.key,
      accessMode: ns?.accessMode ?? topology.mesh.defaultAccessMode,
      ports: service.ports.map((p) => ({ port: p.port, protocol: p.protocol, targetPort: p.targetPort })),
      pods: members.map((p) => ({ pod: p.key, identity: p.identity, meshed: p.meshed })),
      callers: [...callers.values()].sort((a, b) => (a.source + a.via < b.source + b.via ? -1 : 1)),
      ...(service.split ? { split: service.split } : {}),
      policies: attachedPolicies(topology, service.key),
    };
  });
  const splits = topology.splits.map((s): SplitView => ({
    split: s.key, sourceVersion: s.sourceVersion, active: s.active,
    ...(s.root ? { root: s.root } : {}),
    ...(s.matches ? { matches: s.matches.map((m) => m.name) } : {}),
    ports: s.ports,
  }));
  return { destinations, splits, issues: allIssues(topology) };
}

export interface QueryAnswer {
  allowed: boolean;
  host: string;
  service?: string;
  port?: number;
  route?: string;
  split?: string;
  /** Each backend the request may go to, its share and the destination's decision. */
  backends: { cluster: string; percent: number; pods: { pod: string; decision: AccessDecision }[] }[];
  /** The TrafficPolicy settings the caller's proxy applies, each with where it came from. */
  policy?: EffectivePolicy;
  reason: string;
}

/** May `from` (ns/serviceaccount) send this request to `host`? */
export function explainRequest(topology: Topology, from: string, host: string, request: RequestFacts): QueryAnswer {
  const [namespace = 'default', serviceAccount = 'default'] = from.split('/');
  const identity = formatSpiffeId(topology.mesh.trustDomain, namespace, serviceAccount);
  const normal = normalizeRequestTarget(request.path);
  if ('problem' in normal) return { allowed: false, host, backends: [], reason: `the proxy answers 400: ${normal.problem}` };
  request = { ...request, path: normal.path };
  const policies = new PolicyIndex(topology);
  const halves = new OutboundHalves(topology, policies);
  const outbound = halves.all().outbound;
  const target = new HostTable(outbound.services, namespace, topology.mesh.clusterDomain).lookup(host);
  if (!target) return { allowed: false, host, backends: [], reason: `${host} is not a service of the mesh (as seen from namespace ${namespace})` };
  const service = `${target.service.namespace}/${target.service.name}`;
  // Pods of the caller's identity whose configs leave the Service out (their outbound scope) have no route to it.
  const callers = topology.pods.filter((p) => p.meshed && p.identity === identity);
  if (callers.length > 0 && callers.every((p) => !halves.of(p).outbound.services.includes(target.service))) {
    return { allowed: false, host, service, backends: [], reason: `${service} is outside the outbound scope of ${from}'s pods (skiff.dev/outbound-scope: ${callers[0]?.outboundScope?.join(', ')}); their proxies answer 502` };
  }
  const route = compileRoutes(target.port)(request);
  const answer: QueryAnswer = { allowed: false, host, service, port: target.port.port, backends: [], reason: '' };
  if (!route) return { ...answer, reason: 'no route matches' };
  answer.route = route.name;
  if (route.split) answer.split = route.split;
  answer.policy = effectivePolicy(policies, answer.service as string, target.port.port, route.backends.map((b) => b.cluster), route.require?.[0]?.name);
  const total = route.backends.reduce((sum, b) => sum + b.weight, 0);
  const pods = new Map(topology.pods.map((p) => [p.key, p]));
  const inbound = new InboundBuilder(topology, policies);
  for (const backend of route.backends) {
    const cluster = outbound.clusters.find((c) => c.name === backend.cluster);
    const percent = total === 0 ? 0 : Math.round((backend.weight / total) * 10000) / 100;
    const view = { cluster: backend.cluster, percent, pods: [] as QueryAnswer['backends'][number]['pods'] };
    for (const endpoint of cluster?.endpoints ?? []) {
      const pod = pods.get(endpoint.pod);
      if (!pod) continue;
      const decide = compileInbound(inbound.build(pod));
      view.pods.push({ pod: pod.key, decision: decide(identity, endpoint.port, target.port.protocol, request) });
    }
    answer.backends.push(view);
  }
  const reachable = answer.backends.filter((b) => b.percent > 0);
  const decisions = reachable.flatMap((b) => b.pods.map((p) => p.decision));
  answer.allowed = decisions.length > 0 && decisions.every((d) => d.allowed);
  answer.reason = total === 0 ? 'every backend has weight 0 (503)'
    : decisions.length === 0 ? 'no ready endpoints (503)'
    : answer.allowed ? (decisions[0] as AccessDecision).reason
    : (decisions.find((d) => !d.allowed) as AccessDecision).reason;
  return answer;
}
