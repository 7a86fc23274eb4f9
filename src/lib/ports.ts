/**
 * Skiff's well-known ports, in one table: the sidecar's listeners and the control plane's.
 * Every command line default, manifest generator and local-mode address reads them here.
 */
export const PORTS = {
  /** Sidecar admin: /config, /stats, /metrics, /ready, /live. Loopback only. */
  admin: 15000,
  /** Sidecar outbound listener the application sends to. Loopback only. */
  outbound: 15001,
  /** Sidecar inbound listener (mTLS from other sidecars, plaintext in permissive namespaces). */
  inbound: 15006,
  /** Control plane: config stream and certificates (mTLS). */
  control: 15010,
  /** Control plane debug/status server (loopback). */
  debug: 15020,
  /** Control plane admission and conversion webhooks (TLS; the API server calls them through the Service's port 443). */
  webhooks: 8443,
  /** Control plane TrafficMetrics aggregated API (TLS; only the API server's front proxy may call it). */
  metricsApi: 8444,
  /** Sidecar health and metrics for the kubelet and Prometheus: /ready, /live, /metrics, and the application's TCP probes (TCP_PROBE_PREFIX). */
  health: 15021,
  /** Sidecar UDP relay: the first of the relay ports a pod's captured UDP ports are sent to (one each, upwards). */
  udpRelay: 15300,
} as const;

/** On the health port, `GET <prefix><port>`: whether the application accepts a connection on that port (a rewritten tcpSocket probe). */
export const TCP_PROBE_PREFIX = '/app-health/tcp/';
