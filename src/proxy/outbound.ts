/**
 * The outbound listener: requests the application sends, either to its HTTP proxy
 * (absolute-form, `HTTP_PROXY`) or captured transparently (origin-form with a Host header).
 * Host → service → route → a backend picked by weight per request → an endpoint picked by
 * load → mTLS to the destination's sidecar. Names outside the mesh get 502: never an open proxy.
 * A proxy resolving on demand first asks the control plane about a host it does not know (on-demand.ts).
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseAuthority, type Endpoint, type ProxyConfig, type OutboundService, type Route } from '../config/index.ts';
import { LONGEST_TIMER_MS } from '../lib/request-timer.ts';
import { stateOrNotReady, type ProxyContext } from './context.ts';
import type { ProxyState } from './state.ts';
import { forward, type ForwardRequest } from './forward.ts';
import { CLIENT_CLOSED } from './forward-request.ts';
import { AUTHORITY, type ProxiedRequest } from './frontend.ts';
import { sendGenerated } from './generated.ts';
import { UPGRADE } from './upgrade.ts';
import { effectiveStatus, isGrpcRequest, withGrpcDeadline } from './grpc.ts';
import { connectionFacts, isHttp2 } from './h2-frontend.ts';
import { expectsContinue, forwardableHeaders, hasBody, hostOf, RequestHeaderFacts } from './http-headers.ts';
import { admit, choose, isRefusal, resolve } from './outbound-stages.ts';
import type { RequestLabels } from './telemetry.ts';
import { endpointPeer, type SeriesKey } from './traffic-recorder.ts';

export function handleOutbound(ctx: ProxyContext, req: ProxiedRequest, res: ServerResponse, started = performance.now(), resolvedOnDemand = false): void {
  const state = stateOrNotReady(ctx, res);
  if (!state) return;
  const host = hostOf(req.headers);
  let resolved = resolve(state, req[AUTHORITY] ?? host, req.url ?? '/');
  const original = isRefusal(resolved) && resolved.refuse === 'unknown-host' ? connectionFacts(req).originalAuthority : undefined;
  if (original !== undefined) {
    // Captured: the Host names nothing in the mesh, but the address the application dialled does.
    const byAddress = resolve(state, original, req.url ?? '/');
    resolved = isRefusal(byAddress) ? byAddress : { ...byAddress, authority: host ?? original };
  }
  if (isRefusal(resolved)) {
    const unknown = resolved.refuse === 'unknown-host' && state.config.outbound.onDemand && ctx.onDemand && !resolvedOnDemand
      ? [resolved.host, original !== undefined ? parseAuthority(original)?.name : undefined].filter((n): n is string => n !== undefined) : [];
    if (unknown.length > 0 && ctx.onDemand) {
      // A host this proxy has not been configured for: ask the control plane once, then route with the new config.
      const refusal = resolved;
      void Promise.all(unknown.map((n) => ctx.onDemand?.resolve(n))).then((results) => {
        if (results.includes('found')) handleOutbound(ctx, req, res, started, true);
        else sendGenerated(res, refusal.refuse, results.includes('failed') ? `${refusal.detail} (the control plane did not answer in time)` : refusal.detail);
      });
      return;
    }
    sendGenerated(res, resolved.refuse, resolved.detail);
    return;
  }
  const { target, authority } = resolved;
  const method = req.method ?? 'GET';
  const facts = new RequestHeaderFacts(method, resolved.path, req.headers);
  const choice = choose(state, resolved, facts, Math.random);
  const route = 'route' in choice ? choice.route : undefined;
  const service = state.serviceKeys.get(target.service) as string;
  // Only Services asked for on demand are ever dropped for idleness: nothing to mark otherwise.
  if (state.config.outbound.onDemand) ctx.onDemand?.touch(service);
  if (isRefusal(choice)) {
    recordOutbound(ctx, state, started, target.service, route, sendGenerated(res, choice.refuse, choice.detail, choice.status), choice.refuse);
    return;
  }
  const admission = admit(choice, Math.random);
  if (isRefusal(admission)) {
    recordOutbound(ctx, state, started, target.service, route, sendGenerated(res, admission.refuse, admission.detail, admission.status), admission.refuse);
    return;
  }
  const { cluster } = choice;
  const policy = withGrpcDeadline(choice.route.policy, req.headers);
  const counters = cluster.counters;
  const headers = forwardableHeaders(req.headers);
  headers.host = authority;
  counters.requests++;
  // One object per request and one closure (`done`); what the request shares with others
  // (the picker, the outlier settings) comes from the compiled cluster.
  const call: ForwardRequest = {
    req, res, method, path: resolved.forwardPath, upgrade: req[UPGRADE], headers, sidecarClient: state.clientHeader, sidecarService: service, hasBody: hasBody(req), http2: isHttp2(req), grpc: isGrpcRequest(req), expectContinue: expectsContinue(req.headers),
    policy, budget: ctx.budget(cluster.config.name, policy.retry), upstreams: ctx.mesh, to: cluster.pick, target: cluster.config.name, outlier: cluster.outlier,
    maxPendingRequests: cluster.config.policy.circuitBreaker.maxPendingRequests,
    done: (result) => {
      counters.active--;
      const endpoint = result.endpoint?.endpoint;
      if (result.attempts > 1) ctx.telemetry.retries.labels({ cluster: cluster.config.name }).inc(result.attempts - 1);
      recordOutbound(ctx, state, started, target.service, route, effectiveStatus(result.status, result.grpcStatus), result.reason ?? result.upstreamReason, endpoint ?? cluster, endpoint, cluster.config.service);
      if (ctx.telemetry.logThis()) ctx.telemetry.accessLog({ direction: 'outbound', method, authority, path: resolved.path, status: result.status, route: choice.route.name, cluster: cluster.config.name, endpoint: result.endpoint?.key, attempts: result.attempts, reason: result.reason, ms: Math.round(performance.now() - started) });
    },
  };
  if (admission.delayMs > 0) {
    forwardAfter(call, admission.delayMs, counters);
    return;
  }
  counters.active++;
  forward(call);
}

/**
 * An injected delay: the request waits, then goes on. A client that leaves meanwhile ends it
 * there (nothing is forwarded later for nobody). Node times at most 24.8 days: a policy's
 * `99999h` holds the request that long, not for 1 ms.
 */
function forwardAfter(call: ForwardRequest, delayMs: number, counters: { active: number }): void {
  const gone = () => {
    clearTimeout(timer);
    counters.active++;
    call.done({ ...CLIENT_CLOSED, attempts: 0 });
  };
  const timer = setTimeout(() => {
    call.res.off('close', gone);
    counters.active++;
    forward(call);
  }, Math.min(delayMs, LONGEST_TIMER_MS));
  call.res.once('close', gone);
}

/**
 * Counts an outbound request. Labels and series follow from the route (or the Service) and the
 * endpoint that answered: objects of the immutable state, so the counters are found by
 * identity (telemetry.ts) and described only the first time.
 */
function recordOutbound(ctx: ProxyContext, state: ProxyState, started: number, service: OutboundService, route: Route | undefined, status: number, generated: string | undefined, detail: object = NO_ENDPOINT, endpoint?: Endpoint, backend?: string): void {
  const scope: object = route ?? service;
  const counters = ctx.telemetry.knownCounters(scope, detail) ?? ctx.telemetry.countersFor(scope, detail, () => describe(state.config.proxy, service, route?.name ?? '', endpoint, backend));
  ctx.telemetry.count(counters, status, generated, performance.now() - started);
}

/** Stands for "no endpoint answered" in the counters' identity. */
const NO_ENDPOINT = {};

/** The metric labels and traffic series of outbound requests to `service` by `route`, answered by `endpoint` of `backend`. */
function describe(me: ProxyConfig['proxy'], service: { namespace: string; name: string }, route: string, endpoint: Endpoint | undefined, backend: string | undefined): { labels: RequestLabels; series: SeriesKey } {
  const workload = endpoint?.workload;
  return {
    labels: {
      direction: 'outbound', source_namespace: me.namespace, source_workload_kind: me.workload.kind, source_workload: me.workload.name,
      destination_namespace: service.namespace, destination_workload_kind: workload?.kind ?? '', destination_workload: workload?.name ?? '',
      destination_service: service.name, route,
    },
    series: { direction: 'outbound', peer: endpoint ? endpointPeer(endpoint) : {}, service: `${service.namespace}/${service.name}`, ...(backend !== undefined ? { backend } : {}) },
  };
}
