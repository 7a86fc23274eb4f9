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

export function outboundHash(outbound: OutboundConfig): string {
  return sha256(JSON.stringify(outbound));
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

const meshJson = new WeakMap<ProxyConfig['mesh'], string>();

export function proxyConfigHash(config: Omit<ProxyConfig, 'hash' | 'schema'>, outboundDigest = outboundHash(config.outbound)): string {
  let mesh = meshJson.get(config.mesh);
  if (mesh === undefined) {
    mesh = JSON.stringify(config.mesh);
    meshJson.set(config.mesh, mesh);
  }
  return sha256(`${mesh}\n${JSON.stringify(config.proxy)}\n${inboundHash(config.inbound)}\n${outboundDigest}`);
}
