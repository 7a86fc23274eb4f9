/** What the listeners need from the running proxy; implemented by proxy.ts. */
import type { ServerResponse } from 'node:http';
import type { ResiliencePolicy } from '../config/index.ts';
import { sendGenerated } from './generated.ts';
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

/** The state in force, or a 503 `not-ready` answer (and undefined) before the first good config. */
export function stateOrNotReady(ctx: ProxyContext, res: ServerResponse): ProxyState | undefined {
  const state = ctx.state;
  if (!state) sendGenerated(res, 503, 'not-ready', 'the proxy has no configuration yet');
  return state;
}
