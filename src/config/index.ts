/**
 * config: the ProxyConfig contract (types, JSON Schema, content hash) shared by the control
 * plane and the sidecar. The sidecar imports nothing else from the control plane.
 */
export * from './types.ts';
export { checkCertificateResponse, checkProxyConfig, checkSubscribeAnswer, proxyConfigJsonSchema } from './schema.ts';
export { inboundHash, outboundHash, proxyConfigHash, sha256 } from './hash.ts';
export { DEFAULT_CLUSTER_POLICY, DEFAULT_ROUTE_POLICY } from './defaults.ts';
export * from './evaluate.ts';
export * from './hosts.ts';
export { applyDelta, deltaJson, diffConfigs, DELTA_EVENT, type ConfigDelta } from './delta.ts';
export * from './request-path.ts';
export * from './protocol.ts';
export * from './traffic.ts';
