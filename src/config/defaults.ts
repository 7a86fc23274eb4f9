/** Resilience defaults: safe for any workload, and never duplicating a request the app saw twice by default. */
import type { ResiliencePolicy } from './types.ts';

export const DEFAULT_RESILIENCE: ResiliencePolicy = {
  timeoutMs: 15_000,
  perTryTimeoutMs: 0,
  connectTimeoutMs: 2_000,
  retry: { attempts: 2, budgetPercent: 20, minPerSecond: 10 },
  circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 },
  outlierDetection: { consecutiveGatewayErrors: 5, baseEjectionMs: 30_000, maxEjectionPercent: 50 },
};
