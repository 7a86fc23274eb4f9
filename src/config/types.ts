/**
 * config: the ProxyConfig contract between the control plane and the sidecar, defined once
 * with TypeBox: each definition is both the JSON Schema the sidecar validates a config with
 * (schema.ts compiles it with ajv) and, through `Static`, the TypeScript type both sides use.
 * The semantics of every field are its `description`. Versioned by `schema`, so a sidecar
 * and a controller of different releases can tell whether they agree.
 */
import { Type, type Static } from 'typebox';

export const PROXY_CONFIG_SCHEMA = 'skiff.dev/proxy-config/v2' as const;

const str = (description?: string) => Type.String(description ? { description } : {});
const portNumber = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });
const count = (description: string) => Type.Integer({ minimum: 0, description });
const percent = (description: string) => Type.Number({ minimum: 0, maximum: 100, description });
const closed = { additionalProperties: false } as const;

export const AccessModeSchema = Type.Union([Type.Literal('permissive'), Type.Literal('strict')]);
export type AccessMode = Static<typeof AccessModeSchema>;

export const PortProtocolSchema = Type.Union([Type.Literal('http'), Type.Literal('tcp')]);
export type PortProtocol = Static<typeof PortProtocolSchema>;

/** What a pod's port takes in: its HTTP and TCP connections come over mTLS, its UDP datagrams through the sidecar's relay. */
export const InboundProtocolSchema = Type.Union([Type.Literal('http'), Type.Literal('tcp'), Type.Literal('udp')]);
export type InboundProtocol = Static<typeof InboundProtocolSchema>;

export const HttpMatchSchema = Type.Object({
  name: str('`<HTTPRouteGroup>/<match name>`; the `route` label of metrics.'),
  pathRegex: Type.Optional(str('RE2, matched against the whole path without the query.')),
  methods: Type.Optional(Type.Array(Type.String(), { description: 'Upper-case methods; absent means any method.' })),
  headers: Type.Optional(Type.Array(Type.Object({ name: str('Lower-case header name.'), regex: str('RE2 matched against the whole value.') }, closed), { description: 'Each must be present and match.' })),
}, { ...closed, description: 'An HTTP request match. All given parts must match (AND); a list of matches is an OR.' });
export type HttpMatch = Static<typeof HttpMatchSchema>;

const WorkloadRefSchema = Type.Object({ kind: Type.String(), name: Type.String() }, { ...closed, description: 'A workload: its kind (Deployment, StatefulSet, …) and name.' });

export const ProxyIdentitySchema = Type.Object({
  id: str('`<namespace>/<pod>`.'),
  namespace: Type.String(),
  pod: Type.String(),
  serviceAccount: Type.String(),
  identity: str('`spiffe://<trust domain>/ns/<namespace>/sa/<service account>`.'),
  /** The owning workload, e.g. Deployment/bookstore-v1; metrics and TrafficMetrics use it. */
  workload: WorkloadRefSchema,
}, closed);
export type ProxyIdentity = Static<typeof ProxyIdentitySchema>;

export const RateLimitSchema = Type.Object({
  requestsPerSecond: Type.Number({ exclusiveMinimum: 0 }),
  burst: Type.Integer({ minimum: 1 }),
  perCaller: Type.Boolean({ description: 'One bucket per caller identity (plaintext callers share one) instead of one for all.' }),
}, { ...closed, description: 'A token bucket; beyond it the proxy answers 429.' });
export type RateLimit = Static<typeof RateLimitSchema>;

export const InboundPortSchema = Type.Object({
  port: portNumber('The application\'s port on the pod (a Service targetPort).'),
  protocol: InboundProtocolSchema,
  services: Type.Array(Type.String(), { description: 'Services (`ns/name`) that send traffic to this port.' }),
  rateLimit: Type.Optional(RateLimitSchema),
}, closed);
export type InboundPort = Static<typeof InboundPortSchema>;

export const AccessRuleSchema = Type.Object({
  via: str('The TrafficTarget (`ns/name`) this rule comes from; named in denials and metrics.'),
  sources: Type.Array(Type.String()),
  ports: Type.Optional(Type.Array(portNumber('A target port.'), { description: 'Absent = every port.' })),
  protocols: Type.Array(InboundProtocolSchema),
  http: Type.Optional(Type.Array(HttpMatchSchema)),
}, {
  ...closed,
  description: 'One way in: allowed when some rule has the identity in `sources`, the port in `ports`, the protocol in `protocols` and, when `http` is present, the request matching one of its matches.',
});
export type AccessRule = Static<typeof AccessRuleSchema>;

export const InboundConfigSchema = Type.Object({
  accessMode: AccessModeSchema,
  ports: Type.Array(InboundPortSchema),
  rules: Type.Array(AccessRuleSchema),
  datagramSources: Type.Optional(Type.Array(Type.Object({
    identity: Type.String(),
    addresses: Type.Array(Type.String()),
  }, closed), {
    description: 'The pod addresses of each identity a rule lets send UDP, sorted: a datagram carries no certificate, so in a strict namespace its source address stands for its identity. Absent when no rule allows UDP.',
  })),
}, closed);
export type InboundConfig = Static<typeof InboundConfigSchema>;

export const RetryConditionSchema = Type.Union([Type.Literal('connect-failure'), Type.Literal('gateway-error'), Type.Literal('reset'), Type.Literal('502'), Type.Literal('503'), Type.Literal('504')], {
  description: 'connect-failure: no connection (always safe to retry); gateway-error: 502, 503 or 504; reset: the connection broke before any response byte.',
});

export const FaultSchema = Type.Object({
  delayMs: Type.Optional(count('Delay before forwarding.')),
  delayPercent: Type.Optional(percent('Share of requests delayed.')),
  abortStatus: Type.Optional(Type.Integer({ minimum: 200, maximum: 599 })),
  abortPercent: Type.Optional(percent('Share of requests answered with `abortStatus` instead of forwarded.')),
}, closed);

/** What the caller's proxy does per request on a route: TrafficPolicy timeouts, retries and faults. */
export const RoutePolicySchema = Type.Object({
  timeoutMs: count('Until the response starts, retries included (504 after it); 0 = no limit. A started response (a stream) is then bounded by the stream idle time.'),
  perTryTimeoutMs: count('Each attempt; 0 = no limit.'),
  streamIdleMs: Type.Optional(count('A started response (a stream) with no byte for this long is cut; absent = 5 minutes, 0 = no limit.')),
  retry: Type.Object({
    attempts: count('Extra attempts after the first.'),
    on: Type.Array(RetryConditionSchema),
    budgetPercent: percent('Retries may add at most this share of requests, plus `minPerSecond`.'),
    minPerSecond: count('Retries always allowed per second.'),
  }, closed),
  fault: Type.Optional(FaultSchema),
}, { ...closed, description: 'Request-level policy of a route. Retries never replay a request body; 5xx are retried only for idempotent methods.' });
export type RoutePolicy = Static<typeof RoutePolicySchema>;
export type RetryCondition = Static<typeof RetryConditionSchema>;

/** Limits that protect a destination (a backend Service port): per cluster and per endpoint. */
export const ClusterPolicySchema = Type.Object({
  connectTimeoutMs: count('Connection set-up to an endpoint.'),
  idleTimeoutMs: count('An idle upstream connection is closed after this; 0 = no limit.'),
  circuitBreaker: Type.Object({
    maxConnections: Type.Integer({ minimum: 1, description: 'Connections to each endpoint.' }),
    maxPendingRequests: count('Requests waiting for a connection to an endpoint; beyond it 503 `circuit-open`. 0 = none may wait (503 while every connection is busy).'),
    maxRequests: Type.Integer({ minimum: 1, description: 'Requests in flight to the cluster; beyond it 503 `circuit-open`.' }),
  }, closed),
  outlierDetection: Type.Object({
    consecutiveGatewayErrors: Type.Integer({ minimum: 1 }),
    baseEjectionMs: count('First ejection; doubles with each further one.'),
    maxEjectionPercent: Type.Integer({ minimum: 0, maximum: 100 }),
  }, closed),
}, closed);
export type ClusterPolicy = Static<typeof ClusterPolicySchema>;

export const WeightedBackendSchema = Type.Object({
  cluster: str('Name of a cluster in `outbound.clusters`.'),
  weight: count('Relative weight; the proxy picks per request. 0 = never picked.'),
}, closed);
export type WeightedBackend = Static<typeof WeightedBackendSchema>;

export const RouteSchema = Type.Object({
  name: Type.String(),
  split: Type.Optional(str('The TrafficSplit (`ns/name`) that produced this route, if any.')),
  match: Type.Optional(Type.Array(HttpMatchSchema, { description: 'Absent: matches every request.' })),
  require: Type.Optional(Type.Array(HttpMatchSchema, { description: 'The request must also match one of these (a TrafficPolicy route); absent: no further condition.' })),
  backends: Type.Array(WeightedBackendSchema, { description: 'Empty, or every weight 0: the proxy answers 503 with a reason.' }),
  policy: RoutePolicySchema,
}, closed);
export type Route = Static<typeof RouteSchema>;

export const OutboundPortSchema = Type.Object({
  port: portNumber('The Service port clients call.'),
  protocol: PortProtocolSchema,
  routes: Type.Array(RouteSchema, { description: 'Tried in order; the first whose `match` and `require` match handles the request. TCP ports use the first route.' }),
}, closed);
export type OutboundPort = Static<typeof OutboundPortSchema>;

export const OutboundServiceSchema = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  clusterIP: Type.Optional(Type.String()),
  ports: Type.Array(OutboundPortSchema),
}, {
  ...closed,
  description: 'A Service clients can call, by `name.namespace`, `name.namespace.svc`, `name.namespace.svc.<clusterDomain>`, its clusterIP, and the bare `name` in the own namespace (any case, optional trailing dot and `:port`).',
});
export type OutboundService = Static<typeof OutboundServiceSchema>;

export const EndpointSchema = Type.Object({
  address: Type.String(),
  port: portNumber('The target port on the pod.'),
  pod: Type.String(),
  identity: Type.Optional(str('Meshed pods: the identity the server must prove.')),
  meshPort: Type.Optional(portNumber('Meshed pods: the sidecar\'s mTLS port.')),
  workload: Type.Optional(Type.Object({ kind: Type.String(), name: Type.String(), namespace: Type.String() }, closed)),
}, closed);
export type Endpoint = Static<typeof EndpointSchema>;

export const ClusterSchema = Type.Object({
  name: str('`<ns>/<service>:<port>`.'),
  service: Type.String(),
  port: portNumber('The Service port.'),
  protocol: PortProtocolSchema,
  endpoints: Type.Array(EndpointSchema),
  policy: ClusterPolicySchema,
}, closed);
export type Cluster = Static<typeof ClusterSchema>;

export const OutboundConfigSchema = Type.Object({
  services: Type.Array(OutboundServiceSchema),
  clusters: Type.Array(ClusterSchema),
  onDemand: Type.Optional(Type.Literal(true, { description: 'The proxy asks the control plane for a host it does not know (POST /v1/subscribe) and is then sent that Service and its changes; absent: a host not listed is outside the mesh.' })),
}, closed);
export type OutboundConfig = Static<typeof OutboundConfigSchema>;

export const ProxyConfigSchema = Type.Object({
  schema: Type.Literal(PROXY_CONFIG_SCHEMA),
  hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 over everything else: equal hashes mean equal configs.' }),
  mesh: Type.Object({ trustDomain: Type.String(), clusterDomain: Type.String() }, closed),
  proxy: ProxyIdentitySchema,
  inbound: InboundConfigSchema,
  outbound: OutboundConfigSchema,
}, closed);
export type ProxyConfig = Static<typeof ProxyConfigSchema>;
