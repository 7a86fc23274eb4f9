/** What the listeners need from the running proxy; implemented by proxy.ts. */
import type { ResiliencePolicy } from '../config/index.ts';
import type { RetryBudget, TokenBucket } from './resilience.ts';
import type { ProxyState } from './state.ts';
import type { Telemetry } from './telemetry.ts';
import type { TlsMaterial } from './tls-material.ts';
import type { Upstreams } from './upstream.ts';

export interface ProxyContext {
  /** The config in force, or undefined before the first good one. */
  readonly state: ProxyState | undefined;
  readonly tls: TlsMaterial | undefined;
  readonly telemetry: Telemetry;
  readonly mesh: Upstreams;
  readonly app: Upstreams;
  readonly appHost: string;
  budget(cluster: string, policy: ResiliencePolicy): RetryBudget;
  readonly rateLimit: TokenBucket | undefined;
  /** Inbound decisions, for /stats (local mode's live view reads them). */
  readonly counters: { inboundAllowed: number; inboundDenied: number };
}
