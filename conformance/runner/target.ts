/**
 * What the runner needs of the mesh under test, whatever runs it: a Kubernetes cluster
 * (cluster.ts, through the API only) or Skiff's local mode (local.ts, a watched folder and
 * its status port). Scenarios and judging (run.ts) see only this.
 */
import type { Profile } from './scenario.ts';

/** What a sample app recorded (its GET /metrics). */
export interface AppMetrics {
  ReqReceived: string[];
  RespSucceeded: unknown[];
  RespFailed: unknown[];
}

export interface MeshTarget {
  createNamespace(name: string, profile: Profile, access: 'strict' | 'permissive'): Promise<void>;
  deleteNamespace(name: string): Promise<void>;
  /** Creates or replaces every object of a multi-document YAML text. */
  apply(text: string): Promise<void>;
  delete(text: string): Promise<void>;
  /** Whether every object of the text is stored. */
  exists(text: string): Promise<boolean>;
  /** Whether the API of a CRD (`plural.group`) is there to hold objects. */
  crdExists(name: string): Promise<boolean>;
  /** Undefined when every replica is ready, otherwise what is not. */
  deploymentNotReady(namespace: string, name: string): Promise<string | undefined>;
  /** A request to a sample app from outside the mesh. */
  app(namespace: string, app: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** A GET under /apis/metrics.smi-spec.io/v1alpha1. */
  trafficMetrics(path: string): Promise<{ status: number; body: unknown }>;
  /** Where a mesh can say it: how the app's sidecar is configured to route a host (for a failure's report). */
  routeOf?(namespace: string, app: string, host: string): Promise<string>;
}

/** A sample app's record, or an error naming what answered instead. */
export async function appMetrics(target: MeshTarget, namespace: string, app: string): Promise<AppMetrics> {
  const r = await target.app(namespace, app, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`${app} /metrics answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
  return r.body as AppMetrics;
}
