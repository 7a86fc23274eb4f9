/**
 * The inbound half of a ProxyConfig: the pod's ports (with the TrafficPolicy rate limit of
 * the Services leading to them), its namespace's access mode, and the access rules of every
 * TrafficTarget whose destination is the pod's identity. Rule ports
 * may name a target port or a Service port leading to it; both become target ports here.
 */
import type { AccessRule, InboundConfig, PortProtocol, RateLimit } from '../config/index.ts';
import { PolicyIndex } from './policy-attachment.ts';
import type { InboundPortNode, PodNode, TargetNode, Topology } from '../model/index.ts';

function toTargetPorts(rulePorts: number[] | undefined, inbound: InboundPortNode[]): number[] | undefined {
  if (rulePorts === undefined) return undefined;
  return inbound.filter((p) => rulePorts.includes(p.port) || p.aliases.some((a) => rulePorts.includes(a))).map((p) => p.port);
}

export function accessRulesFor(targets: readonly TargetNode[], inbound: InboundPortNode[]): AccessRule[] {
  const rules: AccessRule[] = [];
  for (const target of targets) {
    for (const rule of target.rules) {
      const protocols = rule.protocols.filter((p): p is PortProtocol => p !== 'udp');
      if (protocols.length === 0) continue;
      const out: AccessRule = { via: target.key, sources: target.sources, protocols };
      const ports = toTargetPorts(rule.ports, inbound);
      if (ports !== undefined) out.ports = ports;
      if (rule.http) out.http = rule.http;
      rules.push(out);
    }
  }
  return rules;
}

export class InboundBuilder {
  private readonly policies: PolicyIndex;
  private readonly accessModes: Map<string, InboundConfig['accessMode']>;
  private readonly defaultMode: InboundConfig['accessMode'];
  private readonly targetsByDestination = new Map<string, TargetNode[]>();
  private readonly cache = new Map<string, InboundConfig>();

  constructor(topology: Topology, policies = new PolicyIndex(topology)) {
    this.policies = policies;
    this.accessModes = new Map(topology.namespaces.map((n) => [n.name, n.accessMode]));
    for (const t of topology.targets) {
      if (!t.active || !t.destination) continue;
      this.targetsByDestination.set(t.destination, [...(this.targetsByDestination.get(t.destination) ?? []), t]);
    }
    this.defaultMode = topology.mesh.defaultAccessMode;
  }

  /** Pods with the same identity and ports share one (immutable) inbound config. */
  build(pod: PodNode): InboundConfig {
    const ports = pod.inboundPorts.filter((p) => p.protocol !== 'udp');
    let cacheKey = pod.identity;
    for (const p of ports) cacheKey += `|${p.port}/${p.protocol}/${p.services.join(',')}/${p.aliases.join(',')}`;
    let config = this.cache.get(cacheKey);
    if (!config) {
      config = {
        accessMode: this.accessModes.get(pod.namespace) ?? this.defaultMode,
        ports: ports.map((p) => {
          const limit = this.rateLimitOf(p);
          return { port: p.port, protocol: p.protocol as PortProtocol, services: p.services, ...(limit ? { rateLimit: limit } : {}) };
        }),
        rules: accessRulesFor(this.targetsByDestination.get(pod.identity) ?? [], ports),
      };
      this.cache.set(cacheKey, config);
    }
    return config;
  }

  /** A TrafficPolicy rate limit on any Service port leading to this pod port (services and ports in sorted order). */
  private rateLimitOf(port: InboundPortNode): RateLimit | undefined {
    for (const service of port.services) {
      for (const alias of port.aliases) {
        const found = this.policies.rateLimit(service, alias);
        if (found) return found.limit;
      }
    }
    return undefined;
  }
}
