/**
 * translate: Topology → one ProxyConfig per meshed pod. Pure and deterministic: the same
 * topology gives byte-identical configs. Parts that many proxies share (the outbound half,
 * inbound halves of pods with the same identity and ports) are built once and shared, and so
 * are their hashes; a full rebuild of a large mesh costs little more than one proxy's worth.
 * A pod with an outbound scope (model/outbound-scope.ts) gets only the Services it names.
 */
import { PROXY_CONFIG_SCHEMA, proxyConfigHash, type ProxyConfig } from '../config/index.ts';
import type { PodNode, Topology } from '../model/index.ts';
import { InboundBuilder } from './inbound.ts';
import { OutboundHalves } from './outbound.ts';
import { PolicyIndex } from './policy-attachment.ts';

function configFor(mesh: ProxyConfig['mesh'], pod: PodNode, inbound: InboundBuilder, outbound: ProxyConfig['outbound'], digest: string): ProxyConfig {
  const body = {
    mesh,
    proxy: { id: pod.key, namespace: pod.namespace, pod: pod.name, serviceAccount: pod.serviceAccount, identity: pod.identity, workload: pod.workload },
    inbound: inbound.build(pod),
    outbound,
  };
  return { schema: PROXY_CONFIG_SCHEMA, hash: proxyConfigHash(body, digest), ...body };
}

function meshOf(topology: Topology): ProxyConfig['mesh'] {
  return { trustDomain: topology.mesh.trustDomain, clusterDomain: topology.mesh.clusterDomain };
}

/** Configs of every meshed pod, by proxy id (`namespace/pod`), in sorted order. */
export function translateAll(topology: Topology): Map<string, ProxyConfig> {
  const policies = new PolicyIndex(topology);
  const outbound = new OutboundHalves(topology, policies);
  const inbound = new InboundBuilder(topology, policies);
  const mesh = meshOf(topology);
  const configs = new Map<string, ProxyConfig>();
  for (const pod of topology.pods) {
    if (!pod.meshed) continue;
    const half = outbound.of(pod);
    configs.set(pod.key, configFor(mesh, pod, inbound, half.outbound, half.digest));
  }
  return configs;
}

/** The config of one proxy, or undefined when no meshed pod has that id. */
export function translate(topology: Topology, proxyId: string): ProxyConfig | undefined {
  const pod = topology.pods.find((p) => p.key === proxyId && p.meshed);
  if (!pod) return undefined;
  const policies = new PolicyIndex(topology);
  const half = new OutboundHalves(topology, policies).of(pod);
  return configFor(meshOf(topology), pod, new InboundBuilder(topology, policies), half.outbound, half.digest);
}
