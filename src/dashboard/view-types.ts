/**
 * The dashboard's view: what the server computes once a second and the page draws. Plain
 * data, no imports, so the browser code shares these types without pulling in server code.
 */

/** Traffic over the window: rates per second, success rate over answered requests (denials apart). */
export interface EdgeTraffic {
  requests: number;
  rps: number;
  /** success / (success + failure); null when every request was denied or none came. */
  successRate: number | null;
  p99Ms: number | null;
  failures: number;
  denied: number;
}

export type NodeKind = 'workload' | 'service' | 'external';

export interface GraphNode {
  /** `workload:<ns>/<Kind>/<name>`, `service:<ns>/<name>` or `external:<label>`. */
  id: string;
  kind: NodeKind;
  namespace?: string;
  name: string;
  /** Deployment, StatefulSet, ... for workloads. */
  workloadKind?: string;
  meshed: boolean;
  /** No traffic in or out over the window: drawn dimmed. */
  idle: boolean;
}

/**
 * An edge of the graph: observed traffic between workloads (`traffic`), a client into a
 * split's root Service (`split`), the root Service to one backend (`backend`), or, when the
 * access overlay asks, a pair TrafficTargets allow that carried nothing (`allowed-unused`).
 */
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  kind: 'traffic' | 'split' | 'backend' | 'allowed-unused';
  traffic: EdgeTraffic | null;
  /** Some requests on it were refused by the destination's sidecar (403). */
  denied: boolean;
  /** What access control says of the pair: allowed by a TrafficTarget, by a permissive namespace, or not allowed. */
  access: 'allowed' | 'permissive' | 'not-allowed' | 'unknown';
  /** Backend edges: the weight configured and the share observed, in percent. */
  configuredPercent?: number;
  observedPercent?: number | null;
  /** Backend edges: the backend Service. */
  backendService?: string;
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface SplitPanel {
  split: string;
  root: string;
  active: boolean;
  conditions: Condition[];
  backends: { service: string; configuredPercent: number; observedPercent: number | null; rps: number }[];
}

export interface ProxyPanel {
  pod: string;
  address: string;
  ready: boolean;
  connected: boolean;
  upToDate: boolean;
  desired: string | null;
  applied: string | null;
  lastError: string | null;
  certificateNotAfter: string | null;
}

export interface WorkloadPanel {
  id: string;
  namespace: string;
  name: string;
  workloadKind: string;
  identity: string;
  meshed: boolean;
  pods: ProxyPanel[];
  /** Refused configs and problems of SMI objects in its namespace that name its Services. */
  problems: string[];
}

/** A caller allowed to reach a destination, from TrafficTargets (as `skiff explain` says it). */
export interface AccessPair {
  source: string;
  target: string;
  via: string;
}

export interface DashboardView {
  generatedAt: string;
  windowSeconds: number;
  namespaces: { name: string; accessMode: string }[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  access: AccessPair[];
  splits: SplitPanel[];
  workloads: WorkloadPanel[];
  problems: string[];
}
