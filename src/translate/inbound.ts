/**
 * The inbound half of a ProxyConfig: the pod's ports (with the TrafficPolicy rate limit of
 * the Services leading to them), its namespace's access mode, and the access rules of every
 * TrafficTarget whose destination is the pod's identity. Rule ports
 * may name a target port or a Service port leading to it; both become target ports here.
 * A rule that allows UDP brings the pod addresses of its sources (`datagramSources`): a
 * datagram's source address is the only thing that can stand for its identity.
 */
import type { AccessRule, InboundConfig, RateLimit } from '../config/index.ts';
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
      const out: AccessRule = { via: target.key, sources: target.sources, protocols: rule.protocols };
      const ports = toTargetPorts(rule.ports, inbound);
      if (ports !== undefined) out.ports = ports;
      if (rule.http) out.http = rule.http;
      rules.push(out);
    }
  }
  return rules;
}

/** Inbound halves without their UDP parts, once per half (halves are immutable and shared). */
const withoutDatagramsOf = new WeakMap<InboundConfig, InboundConfig>();

/**
 * The inbound half for a sidecar that predates UDP (its config stream did not say `udp=1`):
 * no UDP ports, no UDP in access rules (a rule that allowed only UDP goes), no datagram
 * sources. Such a sidecar's closed schema refuses all three, and it would keep its last good
 * config for every other change too; it has no UDP relay, so what it loses it never served.
 */
export function withoutDatagrams(inbound: InboundConfig): InboundConfig {
  const udp = inbound.datagramSources !== undefined || inbound.ports.some((p) => p.protocol === 'udp') || inbound.rules.some((r) => r.protocols.includes('udp'));
  if (!udp) return inbound;
  let out = withoutDatagramsOf.get(inbound);
  if (!out) {
    const rules: AccessRule[] = [];
    for (const rule of inbound.rules) {
      if (!rule.protocols.includes('udp')) rules.push(rule);
      else if (rule.protocols.length > 1) rules.push({ ...rule, protocols: rule.protocols.filter((p) => p !== 'udp') });
    }
    const { datagramSources: _dropped, ...rest } = inbound;
    out = { ...rest, ports: inbound.ports.filter((p) => p.protocol !== 'udp'), rules };
    withoutDatagramsOf.set(inbound, out);
  }
  return out;
}

export class InboundBuilder {
  private readonly policies: PolicyIndex;
  private readonly accessModes: Map<string, InboundConfig['accessMode']>;
  private readonly defaultMode: InboundConfig['accessMode'];
  private readonly targetsByDestination = new Map<string, TargetNode[]>();
  private readonly cache = new Map<string, InboundConfig>();
  /** Pod addresses per identity, built the first time a UDP rule asks. */
  private addresses: Map<string, string[]> | undefined;
  private readonly pods: readonly PodNode[];

  constructor(topology: Topology, policies = new PolicyIndex(topology)) {
    this.policies = policies;
    this.pods = topology.pods;
    this.accessModes = new Map(topology.namespaces.map((n) => [n.name, n.accessMode]));
    for (const t of topology.targets) {
      if (!t.active || !t.destination) continue;
      this.targetsByDestination.set(t.destination, [...(this.targetsByDestination.get(t.destination) ?? []), t]);
    }
    this.defaultMode = topology.mesh.defaultAccessMode;
  }

  /** Pods with the same identity and ports share one (immutable) inbound config. */
  build(pod: PodNode): InboundConfig {
    const ports = pod.inboundPorts;
    let cacheKey = pod.identity;
    for (const p of ports) cacheKey += `|${p.port}/${p.protocol}/${p.services.join(',')}/${p.aliases.join(',')}`;
    let config = this.cache.get(cacheKey);
    if (!config) {
      const rules = accessRulesFor(this.targetsByDestination.get(pod.identity) ?? [], ports);
      const datagramSources = this.datagramSourcesOf(rules);
      config = {
        accessMode: this.accessModes.get(pod.namespace) ?? this.defaultMode,
        ports: ports.map((p) => {
          const limit = this.rateLimitOf(p);
          return { port: p.port, protocol: p.protocol, services: p.services, ...(limit ? { rateLimit: limit } : {}) };
        }),
        rules,
        ...(datagramSources.length > 0 ? { datagramSources } : {}),
      };
      this.cache.set(cacheKey, config);
    }
    return config;
  }

  /** The addresses of the pods of every identity a UDP rule names, by identity in sorted order. */
  private datagramSourcesOf(rules: AccessRule[]): { identity: string; addresses: string[] }[] {
    const identities = new Set<string>();
    for (const rule of rules) if (rule.protocols.includes('udp')) for (const source of rule.sources) identities.add(source);
    if (identities.size === 0) return [];
    this.addresses ??= podAddresses(this.pods);
    return [...identities].sort().flatMap((identity) => {
      const addresses = this.addresses?.get(identity);
      return addresses ? [{ identity, addresses }] : [];
    });
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

/** Meshed pods' addresses by identity, each list sorted. */
function podAddresses(pods: readonly PodNode[]): Map<string, string[]> {
  const byIdentity = new Map<string, string[]>();
  for (const pod of pods) {
    if (!pod.meshed || !pod.address) continue;
    const list = byIdentity.get(pod.identity);
    if (list) list.push(pod.address);
    else byIdentity.set(pod.identity, [pod.address]);
  }
  for (const list of byIdentity.values()) list.sort();
  return byIdentity;
}

/**
 * What the UDP rules' source addresses depend on: the addresses of the identities some UDP
 * rule names ('' when none does). A translation that sees it change cannot reuse inbound halves.
 */
export function datagramSourcePrint(topology: Topology): string {
  const identities = new Set<string>();
  for (const t of topology.targets) if (t.active) for (const rule of t.rules) if (rule.protocols.includes('udp')) for (const s of t.sources) identities.add(s);
  if (identities.size === 0) return '';
  const print: string[] = [];
  for (const pod of topology.pods) if (pod.meshed && pod.address && identities.has(pod.identity)) print.push(`${pod.identity}=${pod.address}`);
  return print.sort().join(',');
}
