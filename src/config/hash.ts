/**
 * Content hashes of ProxyConfigs. The translator builds every object with a fixed key order,
 * so JSON.stringify is canonical for configs it produces; a proxy verifies a config by hashing
 * the parsed JSON the same way (JSON.parse keeps key order). The outbound part is usually
 * shared by many proxies, and the inbound part by every proxy of one identity, so their
 * hashes are computed once and folded in:
 *   hash = sha256( JSON(mesh) \n JSON(proxy) \n sha256(JSON(inbound)) \n sha256(JSON(outbound)) )
 */
import { hash } from 'node:crypto';
import type { InboundConfig, OutboundConfig, ProxyConfig } from './types.ts';

export function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}

/**
 * JSON of a config part (a Service, a cluster, an inbound or mesh object), once per object: parts
 * are immutable, and shared by many proxies on the control plane and from one version to the
 * next in a proxy that applies deltas.
 */
const partJsonCache = new WeakMap<object, string>();
export function partJson(value: object): string {
  let text = partJsonCache.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    partJsonCache.set(value, text);
  }
  return text;
}

/**
 * Exactly `JSON.stringify(outbound)`, with each Service and cluster written once per object: a
 * delta replaces one Service of many, so a proxy checking the new version's hash writes only it.
 */
export function outboundJson(outbound: OutboundConfig): string {
  let text = '{';
  for (const [key, value] of Object.entries(outbound) as [string, unknown][]) {
    if (value === undefined) continue;
    const written = (key === 'services' || key === 'clusters') && Array.isArray(value) ? `[${value.map((part: unknown) => (typeof part === 'object' && part !== null ? partJson(part) : (JSON.stringify(part) ?? 'null'))).join(',')}]` : JSON.stringify(value);
    text += `${text.length > 1 ? ',' : ''}${JSON.stringify(key)}:${written}`;
  }
  return `${text}}`;
}

export function outboundHash(outbound: OutboundConfig): string {
  return sha256(outboundJson(outbound));
}

/** Inbound configs are shared between proxies of one identity; hash each once. */
const inboundDigests = new WeakMap<InboundConfig, string>();

export function inboundHash(inbound: InboundConfig): string {
  let digest = inboundDigests.get(inbound);
  if (digest === undefined) {
    digest = sha256(JSON.stringify(inbound));
    inboundDigests.set(inbound, digest);
  }
  return digest;
}

export function proxyConfigHash(config: Omit<ProxyConfig, 'hash' | 'schema'>, outboundDigest = outboundHash(config.outbound)): string {
  return sha256(`${partJson(config.mesh)}\n${JSON.stringify(config.proxy)}\n${inboundHash(config.inbound)}\n${outboundDigest}`);
}
