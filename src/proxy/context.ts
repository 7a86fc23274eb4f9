/** What the listeners need from the running proxy; implemented by proxy.ts. */
import type { ServerResponse } from 'node:http';
import type { RoutePolicy } from '../config/index.ts';
import { sendGenerated } from './generated.ts';
import type { OnDemandResolver } from './on-demand.ts';
import type { InFlightRequests } from './overload.ts';
import type { InboundRateLimits } from './rate-limits.ts';
import type { RetryBudget } from './resilience.ts';
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
  /** Traffic reaches the proxy through iptables capture: plaintext inbound connections name their port by their original destination. */
  readonly capture: boolean;
  /** `port:path` of the application's HTTP probes: plaintext GET/HEAD there pass without identity (the kubelet's probes). */
  readonly probePaths: ReadonlySet<string>;
  /** The retry budget of a cluster, configured with the route's retry settings. */
  budget(cluster: string, retry: RoutePolicy['retry']): RetryBudget;
  readonly rateLimits: InboundRateLimits;
  /** Asks the control plane about hosts the config does not hold (configs with `outbound.onDemand`); absent: a config from a file. */
  readonly onDemand: OnDemandResolver | undefined;
  /** Under a memory limit: the bound on requests (and TCP connections to Services) in flight, by direction. */
  readonly inFlight: InFlightRequests | undefined;
  /** Inbound decisions, for /stats (local mode's live view reads them). */
  readonly counters: { inboundAllowed: number; inboundDenied: number };
}

/** The state in force, or a 503 `not-ready` answer (and undefined) before the first good config. */
export function stateOrNotReady(ctx: ProxyContext, res: ServerResponse): ProxyState | undefined {
  const state = ctx.state;
  if (!state) sendGenerated(res, 'not-ready', 'the proxy has no configuration yet');
  return state;
}
