/**
 * The traffic report contract: what a sidecar tells the control plane about the requests it
 * carried, every REPORT_INTERVAL_MS, so the control plane can serve the SMI TrafficMetrics API
 * without a Prometheus.
 *
 *   POST /v1/traffic  TrafficReport → {ok: true} | ErrorBody     (mTLS, the proxy's identity)
 *
 * A report holds the counts of one interval (deltas, never totals) per series: direction, the
 * peer (the other side's pod and workload, when known), the Service addressed and, outbound,
 * the backend Service a TrafficSplit chose. Latencies are exact-merge histograms
 * (lib/latency-histogram.ts) as sorted `[bucket, count]` pairs.
 *
 * Outcome rule (one place, docs/traffic-metrics.md): `denied` = the destination's sidecar
 * refused the caller (403 access-denied or unauthenticated); `failure` = a 5xx, or any other
 * answer the proxy made itself (no route, timeout, rate limit, injected fault); `success` =
 * everything else (the application's 1xx–4xx). Denials count in neither and have no latency.
 */
import { Type, type Static } from 'typebox';
import { MAX_LATENCY_BUCKET, MIN_LATENCY_BUCKET } from '../lib/latency-histogram.ts';

export const REPORT_INTERVAL_MS = 5000;
/** Series in one report; a sidecar folds the rest into one series without peer. */
export const MAX_REPORT_SERIES = 1000;
const NAME = { maxLength: 253 } as const;
const closed = { additionalProperties: false } as const;

export const PeerSchema = Type.Object({
  namespace: Type.Optional(Type.String(NAME)),
  pod: Type.Optional(Type.String(NAME)),
  kind: Type.Optional(Type.String({ maxLength: 63 })),
  name: Type.Optional(Type.String(NAME)),
}, { ...closed, description: 'The other side: its pod and workload when known; empty for callers outside the mesh.' });
export type Peer = Static<typeof PeerSchema>;

export const TrafficSeriesSchema = Type.Object({
  direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
  peer: PeerSchema,
  service: Type.Optional(Type.String({ maxLength: 317, description: 'The Service addressed, `ns/name`.' })),
  backend: Type.Optional(Type.String({ maxLength: 317, description: 'Outbound: the backend Service (`ns/name`) the request went to; differs from `service` under a TrafficSplit.' })),
  success: Type.Integer({ minimum: 0 }),
  failure: Type.Integer({ minimum: 0 }),
  denied: Type.Integer({ minimum: 0 }),
  latency: Type.Array(Type.Tuple([Type.Integer({ minimum: MIN_LATENCY_BUCKET, maximum: MAX_LATENCY_BUCKET }), Type.Integer({ minimum: 1 })]), { maxItems: MAX_LATENCY_BUCKET - MIN_LATENCY_BUCKET + 1 }),
}, closed);
export type TrafficSeries = Static<typeof TrafficSeriesSchema>;

export const TrafficReportSchema = Type.Object({
  proxy: Type.String({ maxLength: 317 }),
  series: Type.Array(TrafficSeriesSchema, { maxItems: MAX_REPORT_SERIES + 2 }),
}, closed);
export type TrafficReport = Static<typeof TrafficReportSchema>;

export type Outcome = 'success' | 'failure' | 'denied';

/**
 * The token a proxy records (status 499, as nginx does) for a request whose client closed its
 * connection before any answer: no answer was made, so it is not counted as a failure of the
 * destination (its time until the client left is in the latency). The Prometheus templates
 * read it the same way: not a 5xx.
 */
export const CLIENT_CLOSED_REASON = 'client-closed';

/** The outcome rule above: `generated` is the reason token of an answer a Skiff proxy made (this one or the peer's). */
export function outcomeOf(status: number, generated: string | undefined): Outcome {
  if (status === 403 && (generated === 'access-denied' || generated === 'unauthenticated')) return 'denied';
  if (generated === CLIENT_CLOSED_REASON) return 'success';
  if (generated !== undefined || status >= 500) return 'failure';
  return 'success';
}
