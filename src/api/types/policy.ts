/**
 * TrafficPolicy (policy.skiff.dev/v1alpha1): timeouts, retries, circuit breaking, outlier
 * detection, rate limits and fault injection, attached to Services, Service ports and
 * HTTPRouteGroup matches with `targetRefs` (Gateway API policy-attachment style). Durations
 * are Gateway API durations: "2s", "500ms", "1m30s".
 */

export type PolicyTargetKind = 'Service' | 'HTTPRouteGroup';

export interface PolicyTargetRef {
  /** "" (core) for Service, specs.smi-spec.io for HTTPRouteGroup; may be omitted. */
  group?: string;
  kind: PolicyTargetKind;
  /** In the policy's namespace. */
  name: string;
  /** Service only: one port of the Service (its `port` number). */
  port?: number;
  /** HTTPRouteGroup only: one match (route) of the group; absent = every match of it. */
  match?: string;
}

export type RetryCondition = 'connect-failure' | 'gateway-error' | 'reset' | '503' | '502' | '504';

export interface TrafficPolicySpec {
  targetRefs: PolicyTargetRef[];
  timeouts?: { request?: string; perTry?: string; idle?: string; streamIdle?: string };
  retries?: { attempts?: number; on?: RetryCondition[]; budgetPercent?: number; minPerSecond?: number };
  circuitBreaker?: { maxConnections?: number; maxPendingRequests?: number; maxRequests?: number };
  outlierDetection?: { consecutiveErrors?: number; baseEjectionTime?: string; maxEjectedPercent?: number };
  rateLimit?: { requestsPerSecond: number; burst?: number; perCaller?: boolean };
  faultInjection?: { delay?: { duration: string; percent: number }; abort?: { status: number; percent: number } };
}
