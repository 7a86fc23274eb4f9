/**
 * The control-plane protocol and the sidecar's admin payloads, defined once with TypeBox like
 * the ProxyConfig: the control plane validates request bodies with these schemas (Fastify's
 * ajv), the sidecar validates answers with them, and both use the `Static` types.
 *
 *   POST /v1/certificate  CertificateRequest → CertificateResponse | ErrorBody
 *   GET  /v1/config?proxy=<ns/pod>&have=<hash>[&demand=1[&tcp=1][&udp=1]][&deltas=1]   Server-Sent
 *        Events: `event: config`, `id: <hash>`, `data: <ProxyConfig JSON>`; with `deltas=1`,
 *        later versions may come as `event: delta`, `data: <ConfigDelta JSON>` (delta.ts);
 *        `demand=1`: the proxy resolves on demand (its config holds what it subscribed to),
 *        `tcp=1`: and every TCP Service up front; `udp=1`: it takes UDP ports, rules and
 *        datagram sources (a sidecar that predates UDP access does not say so and gets a
 *        config without them, which its closed schema would refuse)
 *   POST /v1/subscribe    Subscribe → SubscribeAnswer | ErrorBody, on the stream's own
 *        HTTP/2 connection (so on the replica that streams to it)
 *   POST /v1/ack          Ack → {ok: true} | ErrorBody
 *   POST /v1/ack-stream?proxy=<ns/pod>   application/x-ndjson, HTTP/2 only: one Ack per line of
 *        a long-lived request on the stream's connection; the answer ends it, with one
 *        `{"error": ...}` line when a line was refused (control/distribute/ack-stream.ts)
 */
import { Type, type Static } from 'typebox';

export const CONFIG_EVENT = 'config';

/** The ack stream: its path and the media type of its body (one Ack JSON per line). */
export const ACK_STREAM_PATH = '/v1/ack-stream';
export const ACK_STREAM_CONTENT_TYPE = 'application/x-ndjson';

export const CertificateRequestSchema = Type.Object({
  proxy: Type.String({ maxLength: 317, description: '`<namespace>/<pod>`.' }),
  csr: Type.String({ maxLength: 8192, description: 'PKCS#10 (PEM) for an ECDSA P-256 key the sidecar made.' }),
  token: Type.Optional(Type.String({ maxLength: 8192, description: 'First certificate only: a bootstrap token (one-time, local mode) or the pod\'s projected ServiceAccount token.' })),
}, { additionalProperties: false });
export type CertificateRequest = Static<typeof CertificateRequestSchema>;

export const CertificateResponseSchema = Type.Object({
  certificate: Type.String(),
  trustBundle: Type.String(),
  notAfter: Type.String({ description: 'ISO 8601 time.' }),
  identity: Type.String(),
}, { additionalProperties: false });
export type CertificateResponse = Static<typeof CertificateResponseSchema>;

export const AckSchema = Type.Object({
  proxy: Type.String({ maxLength: 317 }),
  hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  error: Type.Optional(Type.String({ maxLength: 4096 })),
}, { additionalProperties: false });
export type Ack = Static<typeof AckSchema>;

const SERVICE_KEY = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

export const SubscribeSchema = Type.Object({
  proxy: Type.String({ maxLength: 317 }),
  hosts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 261 }), { maxItems: 64, description: 'Hosts the application called that the proxy does not know (a name or address, with or without port).' })),
  services: Type.Optional(Type.Array(Type.String({ pattern: SERVICE_KEY }), { maxItems: 5000, description: 'Services (`ns/name`) subscribed to before: a proxy resuming on a new stream sends them first.' })),
  drop: Type.Optional(Type.Array(Type.String({ pattern: SERVICE_KEY }), { maxItems: 5000, description: 'Services the application has not called for a while: the proxy is no longer sent them.' })),
}, { additionalProperties: false });
export type Subscribe = Static<typeof SubscribeSchema>;

export const SubscribeAnswerSchema = Type.Object({
  hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'The config version that holds them: the stream sends it (or sent it already).' }),
  hosts: Type.Array(Type.Union([Type.String(), Type.Null()]), { description: 'Per host asked: the Service it names, or null (none in the mesh).' }),
}, { additionalProperties: false });
export type SubscribeAnswer = Static<typeof SubscribeAnswerSchema>;

export const ErrorBodySchema = Type.Object({ error: Type.String() });
export type ErrorBody = Static<typeof ErrorBodySchema>;

/** GET /stats of a sidecar's admin listener. */
export const ProxyStatsSchema = Type.Object({
  config: Type.Object({ hash: Type.Union([Type.String(), Type.Null()]), applied: Type.Integer(), rejected: Type.Integer(), lastError: Type.Union([Type.String(), Type.Null()]) }),
  certificate: Type.Union([Type.Object({ identity: Type.String(), notAfter: Type.String(), generation: Type.Integer(), lastError: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  inbound: Type.Object({ inboundAllowed: Type.Integer(), inboundDenied: Type.Integer() }),
  clusters: Type.Array(Type.Object({ name: Type.String(), active: Type.Integer(), requests: Type.Integer(), endpoints: Type.Integer() })),
  endpoints: Type.Array(Type.Object({ endpoint: Type.String(), inflight: Type.Integer(), pending: Type.Integer(), ejected: Type.Boolean(), consecutiveFailures: Type.Integer(), ejections: Type.Integer() })),
  tcpForwardConflicts: Type.Array(Type.String()),
});
export type ProxyStats = Static<typeof ProxyStatsSchema>;
