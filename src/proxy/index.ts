/**
 * proxy: the Skiff sidecar (Fastify + undici). It imports only config/ (and lib/) from the
 * rest of Skiff, so it can be upgraded separately and keeps serving its last good config.
 * HTTP/1.1 and HTTP/2 (h2c by preface, h2 by ALPN) share each listener and one request path;
 * gRPC, upgrades (WebSocket) and long responses are carried through it (docs/protocols.md).
 *
 *   app ──HTTP_PROXY / captured──► outbound listener ─ host → route → weighted backend → endpoint ─┐
 *                                                                                mTLS (SNI = target port, ALPN = client's version)
 *   peer sidecar ──────────────────────────────────────► inbound listener ─ identity → access rules → app
 *   admin (loopback): /ready /live /metrics /config /stats
 */
export { SkiffProxy, type ProxyOptions, type Listen } from './proxy.ts';
export { FileConfigSource, type ConfigSource } from './config-source.ts';
export { ControlClient, type ControlClientOptions } from './control-client.ts';
export { REASON_HEADER, DETAIL_HEADER } from './generated.ts';
export { CERT_FILE, KEY_FILE, CA_FILE } from './tls-material.ts';
export { eventLevel, PROBLEM_EVENTS } from './events.ts';
