/**
 * Policy defaults, used wherever no TrafficPolicy sets a field: safe for any workload, and
 * never duplicating a request the app saw twice (only connection failures and gateway
 * errors of idempotent, bodiless requests are retried). docs/policies.md lists them.
 */
import type { ClusterPolicy, RoutePolicy } from './types.ts';

export const DEFAULT_ROUTE_POLICY: RoutePolicy = {
  timeoutMs: 15_000,
  perTryTimeoutMs: 0,
  retry: { attempts: 2, on: ['connect-failure', 'gateway-error'], budgetPercent: 20, minPerSecond: 10 },
};

export const DEFAULT_CLUSTER_POLICY: ClusterPolicy = {
  connectTimeoutMs: 2_000,
  idleTimeoutMs: 30_000,
  circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 },
  outlierDetection: { consecutiveGatewayErrors: 5, baseEjectionMs: 30_000, maxEjectionPercent: 50 },
};
