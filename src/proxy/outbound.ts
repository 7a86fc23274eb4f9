/**
 * The outbound listener: requests the application sends, either to its HTTP proxy
 * (absolute-form, `HTTP_PROXY`) or captured transparently (origin-form with a Host header).
 * Host → service → route → a backend picked by weight per request → an endpoint picked by
 * load → mTLS to the destination's sidecar. Names outside the mesh get 502: never an open proxy.
 * A proxy resolving on demand first asks the control plane about a host it does not know (on-demand.ts).
 */
import type { ServerResponse } from 'node:http';
import { parseAuthority, type Endpoint, type ProxyConfig, type RequestFacts } from '../config/index.ts';
import { stateOrNotReady, type ProxyContext } from './context.ts';
import { forward } from './forward.ts';
import { AUTHORITY, type ProxiedRequest } from './frontend.ts';
import { sendGenerated } from './generated.ts';
import { UPGRADE } from './upgrade.ts';
import { effectiveStatus, isGrpcRequest, withGrpcDeadline } from './grpc.ts';
import { connectionFacts, isHttp2 } from './h2-frontend.ts';
import { CLIENT_HEADER, expectsContinue, forwardableHeaders, hasBody, headerValue, hostOf, SERVICE_HEADER } from './http-headers.ts';
import { admit, choose, isRefusal, resolve, type Refusal } from './outbound-stages.ts';
import { pickEndpoint } from './state.ts';
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
  const facts: RequestFacts = { method, path: resolved.path, header: (name) => headerValue(req.headers, name) };
  const choice = choose(state, resolved, facts, Math.random);
  const route = 'route' in choice ? choice.route : undefined;
  // Labels and series follow from the route (or the service) and the endpoint that answered:
  // objects of the immutable state, so the counters are found by identity (telemetry.ts).
  const scope: object = route ?? target.service;
  const record = (status: number, generated: string | undefined, detail: object = NO_ENDPOINT, endpoint?: Endpoint, backend?: string) => {
    const counters = ctx.telemetry.countersFor(scope, detail, () => describe(state.config.proxy, target.service, route?.name ?? '', endpoint, backend));
    ctx.telemetry.count(counters, status, generated, performance.now() - started);
  };
  const refuse = (r: Refusal) => record(sendGenerated(res, r.refuse, r.detail, r.status), r.refuse);
  const service = `${target.service.namespace}/${target.service.name}`;
  // Only Services asked for on demand are ever dropped for idleness: nothing to mark otherwise.
  if (state.config.outbound.onDemand) ctx.onDemand?.touch(service);
  if (isRefusal(choice)) {
    refuse(choice);
    return;
  }
  const admission = admit(choice, Math.random);
  if (isRefusal(admission)) {
    refuse(admission);
    return;
  }
  const { cluster } = choice;
  const policy = withGrpcDeadline(choice.route.policy, req.headers);
  const limits = cluster.config.policy;
  const counters = cluster.counters;
  const headers = forwardableHeaders(req.headers);
  headers.host = authority;
  headers[CLIENT_HEADER] = state.clientHeader;
  headers[SERVICE_HEADER] = service;
  const budget = ctx.budget(cluster.config.name, policy.retry);
  counters.requests++;
  const run = () => {
    counters.active++;
    forward({
      req, res, method, path: resolved.forwardPath, ...(req[UPGRADE] ? { upgrade: req[UPGRADE] } : {}), headers, hasBody: hasBody(req), http2: isHttp2(req), grpc: isGrpcRequest(req), expectContinue: expectsContinue(req.headers), policy, budget, upstreams: ctx.mesh,
      // Retries prefer an endpoint not tried yet; with none left, any endpoint may be tried again.
      pick: (tried) => pickEndpoint(cluster, tried, Date.now(), limits.outlierDetection.maxEjectionPercent) ?? pickEndpoint(cluster, undefined, Date.now(), limits.outlierDetection.maxEjectionPercent),
      target: cluster.config.name,
      outlier: { threshold: limits.outlierDetection.consecutiveGatewayErrors, baseEjectionMs: limits.outlierDetection.baseEjectionMs },
      maxPendingRequests: limits.circuitBreaker.maxPendingRequests,
      done: (result) => {
        counters.active--;
        const endpoint = result.endpoint?.endpoint;
        if (result.attempts > 1) ctx.telemetry.retries.labels({ cluster: cluster.config.name }).inc(result.attempts - 1);
        record(effectiveStatus(result.status, result.grpcStatus), result.reason ?? result.upstreamReason, endpoint ?? cluster, endpoint, cluster.config.service);
        if (ctx.telemetry.logThis()) ctx.telemetry.accessLog({ direction: 'outbound', method, authority, path: resolved.path, status: result.status, route: choice.route.name, cluster: cluster.config.name, endpoint: result.endpoint?.key, attempts: result.attempts, reason: result.reason, ms: Math.round(performance.now() - started) });
      },
    });
  };
  if (admission.delayMs > 0) setTimeout(run, admission.delayMs);
  else run();
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
