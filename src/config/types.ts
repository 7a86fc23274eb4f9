/**
 * config: the ProxyConfig contract between the control plane and the sidecar. It is the only
 * thing the proxy imports from the rest of Skiff, versioned by `schema`, so a sidecar and a
 * controller of different releases agree on it. Semantics of every field are written here;
 * the proxy implements them, translate/ produces them.
 */

export const PROXY_CONFIG_SCHEMA = 'skiff.dev/proxy-config/v1' as const;

export type AccessMode = 'permissive' | 'strict';
export type PortProtocol = 'http' | 'tcp';

/**
 * An HTTP request match. All given parts must match (AND); a list of matches is an OR.
 * Regexes are RE2 and match the whole path (without the query) or the whole header value.
 */
export interface HttpMatch {
  /** `<HTTPRouteGroup>/<match name>`; the `route` label of metrics. */
  name: string;
  pathRegex?: string;
  /** Upper-case methods; absent means any method. */
  methods?: string[];
  /** Lower-case header names with value regexes; each must be present and match. */
  headers?: { name: string; regex: string }[];
}

export interface ProxyIdentity {
  /** `<namespace>/<pod>`. */
  id: string;
  namespace: string;
  pod: string;
  serviceAccount: string;
  /** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`. */
  identity: string;
  /** The owning workload, e.g. Deployment/bookstore-v1; metrics and TrafficMetrics use it. */
  workload: { kind: string; name: string };
}

export interface InboundPort {
  /** The application's port on the pod (a Service targetPort). */
  port: number;
  protocol: PortProtocol;
  /** Services (`ns/name`) that send traffic to this port. */
  services: string[];
}

/**
 * One way in. A connection or request from `identity` on target port `port` with `protocol`
 * is allowed when `accessMode` is permissive, or some rule has the identity in `sources`,
 * the port in `ports` (absent = every port), the protocol in `protocols` and, when `http`
 * is present, the request matching one of its matches.
 */
export interface AccessRule {
  /** The TrafficTarget (`ns/name`) this rule comes from; named in denials and metrics. */
  via: string;
  sources: string[];
  ports?: number[];
  protocols: PortProtocol[];
  http?: HttpMatch[];
}

export interface InboundConfig {
  accessMode: AccessMode;
  ports: InboundPort[];
  rules: AccessRule[];
  /** Local rate limit protecting this workload (token bucket, all callers together); absent = none. */
  rateLimit?: { requestsPerSecond: number; burst: number };
}

export interface WeightedBackend {
  /** Name of a cluster in `outbound.clusters`. */
  cluster: string;
  /** Relative weight; the proxy picks per request. 0 = never picked. */
  weight: number;
}

export interface Route {
  name: string;
  /** The TrafficSplit (`ns/name`) that produced this route, if any. */
  split?: string;
  /** Absent: matches every request. */
  match?: HttpMatch[];
  /** Empty, or every weight 0: the proxy answers 503 with a reason. */
  backends: WeightedBackend[];
}

export interface OutboundPort {
  /** The Service port clients call. */
  port: number;
  protocol: PortProtocol;
  /** Tried in order; the first whose `match` matches handles the request. TCP ports use the first route. */
  routes: Route[];
}

/**
 * A Service clients can call. The proxy answers to these host names (any case, with or
 * without a trailing dot, with or without `:port`): `name.namespace`, `name.namespace.svc`,
 * `name.namespace.svc.<clusterDomain>`, `clusterIP`, and the bare `name` when the service is
 * in the proxy's own namespace (Kubernetes DNS search semantics).
 */
export interface OutboundService {
  namespace: string;
  name: string;
  clusterIP?: string;
  ports: OutboundPort[];
}

export interface Endpoint {
  address: string;
  /** The target port on the pod. */
  port: number;
  pod: string;
  /** Set for meshed pods: the identity the server must prove, and its sidecar's mTLS port. */
  identity?: string;
  meshPort?: number;
  workload?: { kind: string; name: string; namespace: string };
}

export interface Cluster {
  /** `<ns>/<service>:<port>`. */
  name: string;
  service: string;
  port: number;
  protocol: PortProtocol;
  endpoints: Endpoint[];
}

export interface RetryPolicy {
  /** Extra attempts after the first. */
  attempts: number;
  /** Retry budget: retries may add at most this percentage of requests, plus `minPerSecond`. */
  budgetPercent: number;
  minPerSecond: number;
}

export interface ResiliencePolicy {
  timeoutMs: number;
  perTryTimeoutMs: number;
  connectTimeoutMs: number;
  retry: RetryPolicy;
  circuitBreaker: { maxConnections: number; maxPendingRequests: number; maxRequests: number };
  outlierDetection: { consecutiveGatewayErrors: number; baseEjectionMs: number; maxEjectionPercent: number };
  /** Fault injection for testing resilience; absent = none. */
  fault?: { delayMs?: number; delayPercent?: number; abortStatus?: number; abortPercent?: number };
}

export interface OutboundConfig {
  services: OutboundService[];
  clusters: Cluster[];
  defaults: ResiliencePolicy;
}

export interface ProxyConfig {
  schema: typeof PROXY_CONFIG_SCHEMA;
  /** Hex SHA-256 over everything else: equal hashes mean equal configs. */
  hash: string;
  mesh: { trustDomain: string; clusterDomain: string };
  proxy: ProxyIdentity;
  inbound: InboundConfig;
  outbound: OutboundConfig;
}
