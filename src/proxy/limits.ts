/**
 * Limits of the sidecar's listeners: how long each phase of a connection may take and how
 * many connections a listener holds. Cut connections are counted in
 * `skiff_connections_refused_total{listener, reason}`.
 */
import { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from './frontend.ts';
import { TLS_HANDSHAKE_TIMEOUT_MS } from './peer-tls.ts';

export interface ListenerLimits extends HttpTimeouts {
  /** From accept to the first byte (which tells TLS from plaintext). */
  firstByteMs: number;
  /** The TLS handshake, from its first byte to the verified peer. */
  handshakeMs: number;
  /** Connections one listener holds at once; more are closed at accept. */
  maxConnections: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  ...DEFAULT_HTTP_TIMEOUTS,
  firstByteMs: 10_000,
  handshakeMs: TLS_HANDSHAKE_TIMEOUT_MS,
  maxConnections: 4096,
};
