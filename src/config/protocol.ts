/**
 * The control-plane protocol and the sidecar's admin payloads, defined once with TypeBox like
 * the ProxyConfig: the control plane validates request bodies with these schemas (Fastify's
 * ajv), the sidecar validates answers with them, and both use the `Static` types.
 *
 *   POST /v1/certificate  CertificateRequest → CertificateResponse | ErrorBody
 *   GET  /v1/config?proxy=<ns/pod>&have=<hash>   Server-Sent Events: `event: config`,
 *        `id: <hash>`, `data: <ProxyConfig JSON>`
 *   POST /v1/ack          Ack → {ok: true} | ErrorBody
 */
import { Type, type Static } from 'typebox';

export const CONFIG_EVENT = 'config';

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
