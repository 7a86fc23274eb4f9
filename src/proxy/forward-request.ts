/** What forward() is asked to do (one request, its policy, where it may go) and what it reports back. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLIENT_CLOSED_REASON, type RoutePolicy } from '../config/index.ts';
import type { Reason } from './generated.ts';
import type { RetryBudget } from './resilience.ts';
import type { UpgradeRequest } from './upgrade.ts';
import type { EndpointRuntime, Upstreams } from './upstream.ts';

/**
 * The client closed its connection before any answer: nothing was sent, no retry follows and
 * the endpoint is not blamed (outlier detection counts only what the endpoint did). Recorded
 * as nginx records it, status 499, with the reason `client-closed` (config/traffic.ts).
 */
export const CLIENT_CLOSED = { status: 499, reason: CLIENT_CLOSED_REASON } as const;

export interface ForwardResult {
  status: number;
  endpoint?: EndpointRuntime;
  /** Why the proxy answered itself, or `client-closed` (CLIENT_CLOSED: nobody was answered). */
  reason?: Reason | typeof CLIENT_CLOSED_REASON;
  /** The reason token of an answer another Skiff proxy made (its `x-skiff-reason`), e.g. a denial. */
  upstreamReason?: string;
  /** A gRPC answer's grpc-status (trailer, or header of a trailers-only answer). */
  grpcStatus?: number;
  attempts: number;
}

/** Picks the endpoint of the next attempt, preferring one not tried yet; undefined: none left to try. */
export type EndpointPicker = (tried: readonly EndpointRuntime[]) => EndpointRuntime | undefined;

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /**
   * Skiff's headers for the destination's sidecar, the caller's workload (`x-skiff-client`) and
   * the Service it addressed (`x-skiff-service`): sent to meshed endpoints only, never to an
   * application outside the mesh.
   */
  sidecarClient?: string;
  sidecarService?: string;
  hasBody: boolean;
  /** The client sent `Expect: 100-continue`: tell it to send the body once we forward. */
  expectContinue?: boolean;
  policy: RoutePolicy;
  /** Absent: no retries (the inbound side never retries; its client does). */
  budget?: RetryBudget;
  upstreams: Upstreams;
  /** Where the attempts go: one endpoint (tried once), or a picker asked before each attempt. */
  to: EndpointRuntime | EndpointPicker;
  /** Outlier detection settings; absent for the local application. */
  outlier?: { threshold: number; baseEjectionMs: number };
  /** Requests allowed to wait for a connection to one endpoint; beyond it 503 `circuit-open`. */
  maxPendingRequests?: number;
  /** The answer comes from the application: Skiff's own headers in it are dropped, never passed on as Skiff's word. */
  fromApplication?: boolean;
  /** A gRPC call: its small body is kept for retries, and UNAVAILABLE before any byte is retriable. */
  grpc?: boolean;
  /** The client spoke HTTP/2: so does the next hop (the endpoint's h2 pool). */
  http2?: boolean;
  /** An upgrade request (WebSocket): on 101 the connection becomes a byte stream. */
  upgrade?: UpgradeRequest;
  /** What the request goes to (a cluster's name), for the answer when it has no endpoint. */
  target?: string;
  done(result: ForwardResult): void;
}
