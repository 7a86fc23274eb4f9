/**
 * TrafficMetrics (metrics.smi-spec.io/v1alpha1): served by the aggregated API, not a CRD.
 * Values are Kubernetes quantity strings; latencies are in milliseconds (`unit: ms`), as the
 * reference implementation and SDK do (the spec's example says seconds; see ARCHITECTURE.md).
 */
import type { ObjectMeta } from './common.ts';

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  apiVersion?: string;
}

export type TrafficMetricName =
  | 'p99_response_latency' | 'p90_response_latency' | 'p50_response_latency' | 'success_count' | 'failure_count';

export interface TrafficMetric {
  name: TrafficMetricName;
  unit?: 'ms';
  value: string;
}

export interface TrafficMetrics {
  apiVersion: 'metrics.smi-spec.io/v1alpha1';
  kind: 'TrafficMetrics';
  metadata: ObjectMeta;
  timestamp: string;
  window: string;
  resource: ObjectReference;
  edge: { direction: 'to' | 'from'; side?: 'client' | 'server'; resource: ObjectReference | null };
  backend?: { apex: string; name: string; weight: number };
  metrics: TrafficMetric[];
}

export interface TrafficMetricsList {
  apiVersion: 'metrics.smi-spec.io/v1alpha1';
  kind: 'TrafficMetricsList';
  metadata: { selfLink?: string; resourceVersion?: string };
  resource: ObjectReference;
  selector?: string;
  items: TrafficMetrics[];
}
