/**
 * translate: Topology → one ProxyConfig per meshed pod. Pure and deterministic: the same
 * topology gives byte-identical configs. Parts that many proxies share (the outbound half,
 * inbound halves of pods with the same identity and ports) are built once and shared, and so
 * are their hashes; a full rebuild of a large mesh costs little more than one proxy's worth.
 * A pod with an outbound scope (model/outbound-scope.ts) gets only the Services it names; a
 * proxy that resolves on demand, the Services it subscribed to.
 */
import { HostTable, parseAuthority, PROXY_CONFIG_SCHEMA, proxyConfigHash, type ProxyConfig } from '../config/index.ts';
import { podChangesOf, podsUpdatedFrom, servicesChangedIn, type PodChanges, type PodNode, type Topology } from '../model/index.ts';
import type { LayeredMap } from '../lib/layered-map.ts';
import { datagramSourcePrint, InboundBuilder, withoutDatagrams } from './inbound.ts';
import { podIndex, podIndexChanged } from './pod-index.ts';
import { OutboundHalves, type Demand, type OutboundHalf } from './outbound.ts';
import { PolicyIndex } from './policy-attachment.ts';

function configFor(mesh: ProxyConfig['mesh'], pod: PodNode, inbound: InboundBuilder, outbound: ProxyConfig['outbound'], digest: string, datagrams: boolean): ProxyConfig {
  const built = inbound.build(pod);
  const body = {
    mesh,
    proxy: { id: pod.key, namespace: pod.namespace, pod: pod.name, serviceAccount: pod.serviceAccount, identity: pod.identity, workload: pod.workload },
    inbound: datagrams ? built : withoutDatagrams(built),
    outbound,
  };
  return { schema: PROXY_CONFIG_SCHEMA, hash: proxyConfigHash(body, digest), ...body };
}

const meshed = (p: PodNode) => p.meshed;

/** The keys of the meshed pods, in the topology's order (the same however the translation was made); of two pods with one name, the one `byKey` holds. */
function* meshedKeys(pods: readonly PodNode[], byKey: LayeredMap<string, PodNode>): IterableIterator<string> {
  for (const p of pods) if (p.meshed && byKey.get(p.key) === p) yield p.key;
}

/** A proxy's config and what it was made of (reused while they stand). */
interface BuiltConfig { pod: PodNode; half: OutboundHalf; config: ProxyConfig; datagrams: boolean }

function meshOf(topology: Topology): ProxyConfig['mesh'] {
  return { trustDomain: topology.mesh.trustDomain, clusterDomain: topology.mesh.clusterDomain };
}

/**
 * The translation of one topology: the shared parts built once, and any proxy's config on
 * request. The control plane keeps it between rebuilds so that a proxy subscribing to one more
 * Service costs one config, not a rebuild.
 *
 * Built with the previous translation (`previous`), it reuses what the change left alone
 * (ARCHITECTURE.md, "Incremental rebuilds"): with the very same pods or pods the model
 * updated from them, and the same policies, the outbound entries whose Service and split did
 * not change and the halves made only of those; with the same inbound inputs too, a proxy's
 * config when its pod and half are the ones it had. So a weight edit or a pod turning ready in
 * a mesh of 50,000 proxies rebuilds a few entries and the configs of their callers.
 */
export class MeshTranslation {
  readonly topology: Topology;
  readonly outbound: OutboundHalves;
  private readonly inbound: InboundBuilder;
  private readonly mesh: ProxyConfig['mesh'];
  private readonly pods: LayeredMap<string, PodNode>;
  private hosts: HostTable | undefined;
  /** What decides the policies and the inbound halves, compared with the next translation's. */
  private readonly policyPrint: string;
  private readonly inboundPrint: string;
  /** The config last computed per proxy, and from what (shared with the previous translation when built on it: see the constructor). */
  private readonly configs: Map<string, BuiltConfig> = new Map();
  /** The previous translation's pods, when its configs were carried forward (`configs` is then its map). */
  private previousPods: LayeredMap<string, PodNode> | undefined;
  /** The pod nodes the model changed since the previous translation's pods, when it updated them. */
  private readonly podChanges: PodChanges | undefined;

  constructor(topology: Topology, previous?: MeshTranslation) {
    const policies = new PolicyIndex(topology);
    this.topology = topology;
    this.policyPrint = JSON.stringify([topology.policies, topology.routeGroups]);
    this.inboundPrint = JSON.stringify([topology.mesh, topology.namespaces, datagramSourcePrint(topology)]);
    // The very same pods, or pods updated from the previous ones (a Service node present in
    // both is then unchanged, and so is every pod its endpoints name).
    const samePods = previous !== undefined && (previous.topology.pods === topology.pods || podsUpdatedFrom(topology.pods) === previous.topology.pods)
      && previous.policyPrint === this.policyPrint;
    this.outbound = new OutboundHalves(topology, policies, samePods ? { halves: previous.outbound } : undefined);
    this.inbound = new InboundBuilder(topology, policies);
    this.mesh = meshOf(topology);
    this.podChanges = previous !== undefined && podsUpdatedFrom(topology.pods) === previous.topology.pods ? podChangesOf(topology.pods) : undefined;
    this.pods = previous?.topology.pods === topology.pods ? previous.pods
      : this.podChanges && previous ? podIndexChanged(previous.pods, this.podChanges, meshed) : podIndex(topology.pods, meshed);
    if (samePods) {
      // The same Services with the same names and addresses: the host table stands.
      if (previous.topology.pods === topology.pods || !servicesChangedIn(topology.pods)) this.hosts = previous.hosts;
      // The model hands over the very same targets while their objects are unchanged; else they are compared.
      const sameTargets = previous.topology.targets === topology.targets || JSON.stringify(previous.topology.targets) === JSON.stringify(topology.targets);
      if (previous.inboundPrint === this.inboundPrint && sameTargets) {
        this.previousPods = previous.pods;
        // Taken over whole (not copied: 50,000 entries), so that a proxy not asked again
        // (changes()) keeps what it has. An entry is reused only for the very same pod and half,
        // so the previous translation, should it be asked again, cannot be misled by it.
        this.configs = previous.configs;
        if (this.pods !== previous.pods) for (const id of this.departedSince(previous.pods)) this.configs.delete(id);
      }
    }
  }

  /**
   * The proxies whose config may differ from the previous translation's, when this one was
   * built on it with the same inbound inputs (undefined: ask every proxy). Everything else a
   * config is made of then stands, so it changes only for a pod whose node is new (it came,
   * or the model updated it) or whose outbound half was rebuilt: one of its entries was. With
   * a Service come or gone the halves are not compared (a scope of `ns/*` or a TCP demand
   * names more or fewer), and every proxy is asked.
   */
  changes(): { changed: string[] } | undefined {
    if (!this.previousPods || !this.outbound.sameServices()) return undefined;
    const changed = new Set<string>();
    const previousPods = this.previousPods;
    if (this.pods !== previousPods) {
      if (this.podChanges) {
        for (const p of this.podChanges.added) if (this.pods.get(p.key) === p) changed.add(p.key);
      } else {
        for (const [id, pod] of this.pods) if (previousPods.get(id) !== pod) changed.add(id);
      }
    }
    const stands = new Map<OutboundHalf, boolean>();
    for (const [id, last] of this.configs) {
      let ok = stands.get(last.half);
      if (ok === undefined) {
        ok = this.outbound.stands(last.half);
        stands.set(last.half, ok);
      }
      if (!ok && this.pods.has(id)) changed.add(id);
    }
    return { changed: [...changed] };
  }

  /** The proxy ids of `previous` pods that this translation has not. */
  private departedSince(previous: LayeredMap<string, PodNode>): Iterable<string> {
    const candidates = this.podChanges ? this.podChanges.removed.map((p) => p.key) : previous.keys();
    return [...candidates].filter((id) => previous.has(id) && !this.pods.has(id));
  }

  /** Whether a meshed pod has this proxy id. */
  has(proxyId: string): boolean {
    return this.pods.has(proxyId);
  }

  /** How many meshed pods (proxies) there are. */
  get size(): number {
    return this.pods.size;
  }

  /** The config of one meshed pod (undefined: no such pod); `demand` for a proxy that resolves on demand. */
  configOf(proxyId: string, demand?: Demand): ProxyConfig | undefined {
    const pod = this.pods.get(proxyId);
    if (!pod) return undefined;
    const half = this.outbound.of(pod, demand);
    const datagrams = demand?.udp !== false;
    const last = this.configs.get(proxyId);
    if (last && last.pod === pod && last.half === half && last.datagrams === datagrams) {
      this.configs.set(proxyId, last);
      return last.config;
    }
    const config = configFor(this.mesh, pod, this.inbound, half.outbound, half.digest, datagrams);
    this.configs.set(proxyId, { pod, half, config, datagrams });
    return config;
  }

  /** Stops offering the previous translation's parts: call once every proxy's config was asked for. */
  release(): void {
    this.previousPods = undefined;
    this.outbound.forgetPrevious();
  }

  /**
   * The Service (`ns/name`) a host names for a proxy in `ownNamespace`, as its DNS would
   * resolve it (config/hosts.ts), or undefined when no callable Service has that name or address.
   */
  serviceFor(host: string, ownNamespace: string): string | undefined {
    this.hosts ??= new HostTable(this.outbound.services(), '', this.mesh.clusterDomain);
    const authority = parseAuthority(host);
    const service = authority ? this.hosts.serviceNamed(authority.name, ownNamespace) : undefined;
    return service ? `${service.namespace}/${service.name}` : undefined;
  }

  /** Meshed pods' ids, in the topology's order. */
  proxyIds(): IterableIterator<string> {
    return meshedKeys(this.topology.pods, this.pods);
  }
}

/**
 * Configs of every meshed pod, by proxy id (`namespace/pod`), in sorted order. A proxy with a
 * demand (it resolves on demand) gets what it asked for; the others every Service (or their scope).
 */
export function translateAll(topology: Topology, demands?: ReadonlyMap<string, Demand>): Map<string, ProxyConfig> {
  const translation = new MeshTranslation(topology);
  const configs = new Map<string, ProxyConfig>();
  for (const id of translation.proxyIds()) configs.set(id, translation.configOf(id, demands?.get(id)) as ProxyConfig);
  return configs;
}

/** The config of one proxy, or undefined when no meshed pod has that id. */
export function translate(topology: Topology, proxyId: string, demand?: Demand): ProxyConfig | undefined {
  return new MeshTranslation(topology).configOf(proxyId, demand);
}
