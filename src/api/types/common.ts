/** Types shared by every SMI kind: object metadata and references. */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
  [key: string]: unknown;
}

/** A versioned object as written in YAML or stored by the API server. */
export interface VersionedObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Status Skiff writes on SMI objects (never spec). */
export interface SmiStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Proxies that applied the configuration derived from this generation, and how many it concerns. */
  proxies?: { applied: number; total: number };
}

/** Reference to a route object: TrafficSplit `matches` and TrafficTarget `rules`. */
export interface RouteReference {
  apiGroup?: string;
  kind: string;
  name: string;
}

/** Identity subject of a TrafficTarget: a ServiceAccount. */
export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}
