/**
 * Content hashes of ProxyConfigs. The outbound part is usually shared by many proxies, so
 * its hash is computed once and folded in:
 *   hash = sha256( stableJson({mesh, proxy, inbound}) + "\n" + sha256(stableJson(outbound)) )
 */
import { createHash } from 'node:crypto';
import type { OutboundConfig, ProxyConfig } from './types.ts';

/** JSON with object keys sorted, so equal values always give equal text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function outboundHash(outbound: OutboundConfig): string {
  return sha256(stableJson(outbound));
}

export function proxyConfigHash(config: Omit<ProxyConfig, 'hash' | 'schema'>, outboundDigest = outboundHash(config.outbound)): string {
  return sha256(`${stableJson({ mesh: config.mesh, proxy: config.proxy, inbound: config.inbound })}\n${outboundDigest}`);
}
