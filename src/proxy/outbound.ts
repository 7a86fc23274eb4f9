/**
 * The outbound listener: requests the application sends, either to its HTTP proxy
 * (absolute-form, `HTTP_PROXY`) or captured transparently (origin-form with a Host header).
 * Host → service → route → a backend picked by weight per request → an endpoint picked by
 * load → mTLS to the destination's sidecar. Names outside the mesh get 502: never an open proxy.
 */
import type { ServerResponse } from 'node:http';
import { normalizeRequestTarget, parseAuthority, type RequestFacts } from '../config/index.ts';
import { stateOrNotReady, type ProxyContext } from './context.ts';
import { forward } from './forward.ts';
import { AUTHORITY, type ProxiedRequest } from './frontend.ts';
import { sendGenerated } from './generated.ts';
import { chance } from './resilience.ts';
import { CLIENT_HEADER, expectsContinue, forwardableHeaders, hasBody, headerValue, SERVICE_HEADER } from './http-headers.ts';
import { pickEndpoint } from './state.ts';
import type { RequestLabels } from './telemetry.ts';

export function handleOutbound(ctx: ProxyContext, req: ProxiedRequest, res: ServerResponse): void {
  const started = performance.now();
  const state = stateOrNotReady(ctx, res);
  if (!state) return;
  const authority = req[AUTHORITY] ?? req.headers.host;
  if (!authority) {
    sendGenerated(res, 'bad-request', 'the request names no host');
    return;
  }
  if (!parseAuthority(authority)) {
    sendGenerated(res, 'bad-request', 'the request\'s host is not a valid authority');
    return;
  }
  const target = state.hosts.lookup(authority);
  if (!target) {
    sendGenerated(res, 'unknown-host', `${authority} is not a service of the mesh`);
    return;
  }
  const normal = normalizeRequestTarget(req.url ?? '/');
  if ('problem' in normal) {
    sendGenerated(res, 'bad-request', normal.problem);
    return;
  }
  const method = req.method ?? 'GET';
  const path = normal.path + normal.query;
  const facts: RequestFacts = { method, path: normal.path, header: (name) => headerValue(req.headers, name) };
  const compiled = state.ports.get(target.port);
  const route = compiled?.route(facts);
  const me = state.config.proxy;
  const labels: RequestLabels = {
    direction: 'outbound', source_namespace: me.namespace, source_workload_kind: me.workload.kind, source_workload: me.workload.name,
    destination_namespace: target.service.namespace, destination_workload_kind: '', destination_workload: '',
    destination_service: target.service.name, route: route?.name ?? '',
  };
  const record = (status: number) => ctx.telemetry.observe(labels, status, performance.now() - started);
  if (!route || !compiled) {
    sendGenerated(res, 'no-route', `no route of ${target.service.namespace}/${target.service.name}:${target.port.port} matches`);
    record(404);
    return;
  }
  const clusterName = compiled.pick(route);
  const cluster = clusterName ? state.clusters.get(clusterName) : undefined;
  if (!cluster) {
    sendGenerated(res, 'no-backends', route.split ? `every backend of TrafficSplit ${route.split} has weight 0` : 'the route has no backend');
    record(503);
    return;
  }
  const policy = route.policy;
  const limits = cluster.config.policy;
  const counters = cluster.counters;
  const fault = policy.fault;
  if (fault && chance(fault.abortPercent) && fault.abortStatus) {
    sendGenerated(res, 'fault-injected', 'fault injection aborted this request', fault.abortStatus);
    record(fault.abortStatus);
    return;
  }
  if (counters.active >= limits.circuitBreaker.maxRequests) {
    sendGenerated(res, 'circuit-open', `${cluster.config.name} has ${counters.active} requests in flight (limit ${limits.circuitBreaker.maxRequests})`);
    record(503);
    return;
  }
  const headers = forwardableHeaders(req.headers);
  headers.host = authority;
  headers[CLIENT_HEADER] = state.clientHeader;
  headers[SERVICE_HEADER] = `${target.service.namespace}/${target.service.name}`;
  const budget = ctx.budget(cluster.config.name, policy.retry);
  counters.requests++;
  const run = () => {
    counters.active++;
    forward({
      req, res, method, path, headers, hasBody: hasBody(req.headers), expectContinue: expectsContinue(req.headers), policy, budget, upstreams: ctx.mesh,
      // Retries prefer an endpoint not tried yet; with none left, any endpoint may be tried again.
      pick: (tried) => pickEndpoint(cluster, tried, Date.now(), limits.outlierDetection.maxEjectionPercent) ?? pickEndpoint(cluster, undefined, Date.now(), limits.outlierDetection.maxEjectionPercent),
      outlier: { threshold: limits.outlierDetection.consecutiveGatewayErrors, baseEjectionMs: limits.outlierDetection.baseEjectionMs },
      maxPendingRequests: limits.circuitBreaker.maxPendingRequests,
      done: (result) => {
        counters.active--;
        const workload = result.endpoint?.endpoint.workload;
        if (workload) {
          labels.destination_workload_kind = workload.kind;
          labels.destination_workload = workload.name;
        }
        if (result.attempts > 1) ctx.telemetry.retries.labels({ cluster: cluster.config.name }).inc(result.attempts - 1);
        record(result.status);
        ctx.telemetry.accessLog({ direction: 'outbound', method, authority, path: facts.path, status: result.status, route: route.name, cluster: cluster.config.name, endpoint: result.endpoint?.key, attempts: result.attempts, reason: result.reason, ms: Math.round(performance.now() - started) });
      },
    });
  };
  if (fault?.delayMs && chance(fault.delayPercent)) setTimeout(run, fault.delayMs);
  else run();
}
