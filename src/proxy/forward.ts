/**
 * Sends one HTTP request upstream and streams the answer back, with the route policy's
 * per-try and overall timeouts, retries on the conditions it lists within a budget
 * (connect failures whenever the body can be resent; 5xx and resets only for idempotent
 * requests without a body), the endpoint pending-request limit, outlier bookkeeping, and
 * backpressure both ways. Upstream failures become generated 502/503/504 answers.
 * The request timeout runs until the response starts: a long response (server-sent events,
 * long polling) is then bounded by the stream idle time instead. Upgrade requests
 * (WebSocket) are spliced into a byte stream on 101 (upgrade.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RetryCondition } from '../config/index.ts';
import { setRequestTimer } from '../lib/request-timer.ts';
import { CLIENT_CLOSED, type ForwardRequest, type ForwardResult } from './forward-request.ts';
import { REASON_HEADER, sendGenerated, type Reason } from './generated.ts';
import { bufferGrpcBody, grpcStatusOf, takeGrpcStatus } from './grpc.ts';
import { CLIENT_HEADER, responseHeaders, SERVICE_HEADER } from './http-headers.ts';
import { spliceUpgrade, STREAM_IDLE_MS } from './upgrade.ts';
import { overPendingLimit, type EndpointRuntime } from './upstream.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const GATEWAY_ERRORS = new Set([502, 503, 504]);

/** Whether the route's retry conditions cover an upstream status, a connect failure or a reset. */
function retriable(on: readonly RetryCondition[], what: number | 'connect-failure' | 'reset'): boolean {
  if (what === 'connect-failure' || what === 'reset') return on.includes(what);
  return GATEWAY_ERRORS.has(what) && (on.includes('gateway-error') || on.includes(String(what) as RetryCondition));
}
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA']);

export type { EndpointPicker, ForwardRequest, ForwardResult } from './forward-request.ts';

/** The headers undici hands a handler. */
type IncomingHttpHeaders = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

/** Told apart by type and flag, never by message text. */
class TimeoutError extends Error {
  readonly code = 'SKIFF_TIMEOUT';
  readonly perTry: boolean;
  constructor(message: string, perTry: boolean) {
    super(message);
    this.perTry = perTry;
  }
}

function isConnectFailure(err: Error & { code?: string }, responded: boolean): boolean {
  return !responded && (CONNECT_ERRORS.has(err.code ?? '') || err.name === 'ConnectTimeoutError');
}

/** The forwarding a response belongs to, for onClientClose. */
const FORWARDING = Symbol('skiff.forwarding');
type ForwardedResponse = ForwardRequest['res'] & { [FORWARDING]?: Forwarding };

/**
 * A response closed: if before its request finished, the client went away; the upstream is
 * stopped too (an attempt waiting for a connection stops when it starts). Not
 * `writableFinished`: an HTTP/2 response sets it when its stream is reset.
 *
 * One function for every response, which finds its request through a property: with a closure
 * per request as the listener, every request's objects (its request and response, the
 * forwarding, undici's request) outlived the young generation's collections and were promoted
 * to the old one, 270 KB per scavenge against 7 KB (--trace-gc-nvp, one hop at 2,000 rps), so
 * each scavenge copied them and major collections ran to free them (docs/performance.md).
 */
function onClientClose(this: ForwardedResponse): void {
  const call = this[FORWARDING];
  if (call === undefined || call.finished) return;
  call.clientGone = true;
  call.current?.abort(new Error('the client went away'));
}

/** Nothing tried yet: the first attempt's picker sees every endpoint. */
const NONE_TRIED: readonly EndpointRuntime[] = Object.freeze([]);

/**
 * One forwarded request: its attempts, retries and timeouts. A class rather than closures:
 * a request allocates this object and one Attempt per try, not a dozen functions (measured
 * with bench/allocation).
 */
class Forwarding {
  readonly f: ForwardRequest;
  /** Endpoints already tried: none before the first attempt (its pick sees NONE_TRIED, no array is made for it). */
  tried: EndpointRuntime[] | undefined;
  replayable: boolean;
  body: IncomingMessage | Readable | Buffer | null;
  readonly idempotent: boolean;
  attempts = 0;
  finished = false;
  /** The client closed its connection before the answer ended: nothing more is tried, sent or held against an endpoint. */
  clientGone = false;
  /** The dispatcher's handle on the attempt in flight, once it started. */
  current: Dispatcher.DispatchController | undefined;
  /** The attempt in flight: ending it gives back its endpoint's in-flight count, timers, outlier record. */
  inFlight: Attempt | undefined;
  lastReason: Reason = 'no-healthy-upstream';
  /** Set by a failed attempt; none yet: the cluster had no endpoint (the text is built only then, off the request path). */
  lastDetail: string | undefined;
  readonly overall: NodeJS.Timeout | undefined;

  constructor(f: ForwardRequest) {
    this.f = f;
    this.replayable = !f.hasBody;
    this.body = f.hasBody ? f.req : null;
    this.idempotent = IDEMPOTENT.has(f.method);
    this.overall = f.policy.timeoutMs > 0 ? setRequestTimer(overallTimeout, f.policy.timeoutMs, this) : undefined;
    // Closed before this request finished: the client went away (onClientClose). A response closes once: `on`, without once()'s wrapper.
    (f.res as ForwardedResponse)[FORWARDING] = this;
    f.res.on('close', onClientClose);
  }

  finish(result: Omit<ForwardResult, 'attempts'>): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.overall);
    (result as ForwardResult).attempts = this.attempts;
    this.f.done(result as ForwardResult);
  }

  /** Whether the client went away: its response closed, or was destroyed before its close event ran. */
  gone(): boolean {
    if (!this.clientGone && this.f.res.destroyed) this.clientGone = true;
    return this.clientGone;
  }

  /** The client went away: recorded as CLIENT_CLOSED before any answer, with the status it got after. */
  abandon(endpoint?: EndpointRuntime): void {
    const res = this.f.res;
    this.finish(res.headersSent ? { status: res.statusCode, endpoint } : { ...CLIENT_CLOSED, endpoint });
  }

  fail(reason: Reason, detail: string, endpoint?: EndpointRuntime): void {
    const status = sendGenerated(this.f.res, reason, detail);
    this.finish(endpoint ? { status, reason, endpoint } : { status, reason });
  }

  /** `anyMethod`: an answer that says the application did not process the call (gRPC UNAVAILABLE). */
  canRetry(what: number | 'connect-failure' | 'reset', anyMethod = false): boolean {
    const f = this.f;
    return this.attempts <= f.policy.retry.attempts && f.budget !== undefined && retriable(f.policy.retry.on, what)
      && (what === 'connect-failure' ? this.replayable : this.replayable && (this.idempotent || anyMethod)) && f.budget.tryRetry();
  }

  attempt(): void {
    const f = this.f;
    // Gone already (also before forward() was called: while the host was asked for on demand).
    if (this.gone()) {
      this.abandon();
      return;
    }
    const endpoint = typeof f.to === 'function' ? f.to(this.tried ?? NONE_TRIED) : (this.tried === undefined ? f.to : undefined);
    if (!endpoint) {
      this.fail(this.lastReason, this.lastDetail ?? (f.target === undefined ? 'no endpoint is available' : `${f.target} has no ready endpoint`));
      return;
    }
    const limit = f.maxPendingRequests;
    const pending = limit === undefined ? undefined : overPendingLimit(endpoint, limit, f.http2 ? 'h2' : 'http1');
    if (pending !== undefined) {
      const where = `${endpoint.endpoint.address}:${endpoint.endpoint.port}`;
      this.fail('circuit-open', limit === 0 ? `every connection to ${where} is busy and no request may wait (limit 0)` : `${pending} requests already wait for a connection to ${where} (limit ${limit})`, endpoint);
      return;
    }
    this.attempts++;
    if (this.tried === undefined) this.tried = [endpoint];
    else this.tried.push(endpoint);
    endpoint.inflight++;
    if (f.sidecarClient !== undefined) {
      // Set either way (undici skips an undefined value): a retry may go to an endpoint of the other kind.
      const meshed = endpoint.meshed;
      f.headers[CLIENT_HEADER] = meshed ? f.sidecarClient : undefined;
      f.headers[SERVICE_HEADER] = meshed ? f.sidecarService : undefined;
    }
    const attempt = new Attempt(this, endpoint);
    this.inFlight = attempt;
    const options: Dispatcher.DispatchOptions & { servername?: string } = { path: f.path, method: f.method as Dispatcher.HttpMethod, headers: f.headers as Record<string, string | string[]>, body: this.body, headersTimeout: 0, bodyTimeout: 0 };
    if (f.upgrade) options.upgrade = f.upgrade.protocol;
    // undici would otherwise send the Host header's name as SNI; a peer sidecar reads the
    // target port from SNI, and the Host (a Service port) cannot say which pod port it is.
    // A plaintext pool sends no SNI, but without a name undici derives one from the Host on
    // every request (a test of it as an IP address).
    options.servername = endpoint.servername;
    try {
      f.upstreams.pool(endpoint, f.http2 ? 'h2' : 'http1').dispatch(options, attempt);
    } catch (err) {
      // A dispatcher that refuses synchronously still ends this attempt like any other failure.
      attempt.onResponseError(undefined, err as Error);
    }
  }
}

function hasAny(fields: object): boolean {
  for (const _ in fields) return true;
  return false;
}

function overallTimeout(call: Forwarding): void {
  const ms = call.f.policy.timeoutMs;
  if (call.current) {
    call.current.abort(new TimeoutError(`no answer within ${ms} ms`, false));
    return;
  }
  // The dispatcher never started the request: end the attempt here, or its endpoint would
  // count a request in flight forever.
  call.inFlight?.settle(false);
  call.fail('upstream-timeout', `no answer within ${ms} ms`);
}

function perTryTimeout(call: Forwarding): void {
  call.current?.abort(new TimeoutError(`no answer within the per-try timeout of ${call.f.policy.perTryTimeoutMs} ms`, true));
}

function idleTimeout(call: Forwarding, idleMs: number): void {
  call.current?.abort(new TimeoutError(`no response byte for ${idleMs} ms`, false));
}

/** One try of a forwarded request against one endpoint: undici's handler for it. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly call: Forwarding;
  readonly endpoint: EndpointRuntime;
  responded = false;
  /** The answer is retried: its body is dropped. */
  discard = false;
  /** The endpoint answered a gateway error (502, 503, 504; gRPC UNAVAILABLE): outlier detection counts it, retried or not. */
  gatewayError = false;
  settled = false;
  bodyStarted = false;
  upstreamReason: string | undefined;
  grpcStatus: number | undefined;
  statusTrailers: Record<string, string | string[]> | undefined;
  readonly perTry: NodeJS.Timeout | undefined;
  idle: NodeJS.Timeout | undefined;

  constructor(call: Forwarding, endpoint: EndpointRuntime) {
    this.call = call;
    this.endpoint = endpoint;
    const ms = call.f.policy.perTryTimeoutMs;
    this.perTry = ms > 0 ? setRequestTimer(perTryTimeout, ms, call) : undefined;
  }

  /** The response started: the request timeouts are done. */
  streaming(): void {
    clearTimeout(this.call.overall);
    clearTimeout(this.perTry);
  }

  /**
   * Once undici has handled what it read with the head: a response still open (its body did
   * not come with the head: server-sent events, long polling) gets its head sent on its own,
   * and from now on the stream idle time bounds it. The common answer, whole in that read,
   * has ended by then and needs neither (no timer per request).
   */
  afterHead(): void {
    if (this.settled) return;
    const res = this.call.f.res;
    if (!this.bodyStarted && !res.writableEnded && !res.destroyed) res.flushHeaders();
    const idleMs = this.call.f.policy.streamIdleMs ?? STREAM_IDLE_MS;
    if (idleMs > 0) this.idle = setRequestTimer(idleTimeout, idleMs, this.call, idleMs);
  }

  /** Ends the attempt; `ok` is what outlier detection records (undefined: nothing, the client ended it). */
  settle(ok: boolean | undefined): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.perTry);
    clearTimeout(this.idle);
    const { call, endpoint } = this;
    endpoint.inflight--;
    call.current = undefined;
    call.inFlight = undefined;
    const outlier = call.f.outlier;
    if (outlier && ok !== undefined) endpoint.outlier.record(ok, Date.now(), outlier.threshold, outlier.baseEjectionMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.call.current = controller;
    if (this.call.finished) controller.abort(new Error('request already answered'));
    else if (this.call.clientGone) controller.abort(new Error('the client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const { call } = this;
    const f = call.f;
    this.responded = true;
    // The destination's sidecar could not reach its application (it exited first while its
    // pod terminates): the application never saw the request, so it is retried as a
    // connect failure, whatever its method (and still as a gateway error, if only that is listed).
    const unreached = !f.fromApplication && statusCode === 503 && headers[REASON_HEADER] === 'upstream-connect-failure';
    // gRPC UNAVAILABLE before any response byte (a trailers-only answer): the call was not
    // processed, which gRPC clients themselves treat as safe to retry.
    const unavailable = f.grpc === true && statusCode === 200 && grpcStatusOf(headers['grpc-status']) === 14;
    this.gatewayError = unavailable || GATEWAY_ERRORS.has(statusCode);
    if ((unreached && call.canRetry('connect-failure')) || (unavailable && call.canRetry(503, true)) || (GATEWAY_ERRORS.has(statusCode) && call.canRetry(statusCode))) {
      this.discard = true;
      call.lastReason = 'no-healthy-upstream';
      call.lastDetail = `upstream answered ${statusCode}`;
      return;
    }
    const res = f.res;
    if (res.headersSent || res.destroyed) {
      controller.abort(new Error('response already started'));
      return;
    }
    const reason = f.fromApplication ? undefined : headers[REASON_HEADER];
    if (typeof reason === 'string') this.upstreamReason = reason;
    this.streaming();
    this.grpcStatus = grpcStatusOf(headers['grpc-status']);
    const kept = responseHeaders(headers, f.fromApplication ?? false);
    // A trailers-only gRPC answer: its status goes on as trailers, which every client reads
    // (Node cannot end a stream on the response HEADERS frame once the answer is relayed).
    if (this.grpcStatus !== undefined && f.http2) this.statusTrailers = takeGrpcStatus(kept);
    // HTTP/2 has no reason phrase.
    if (f.http2 || !statusMessage) res.writeHead(statusCode, kept);
    else res.writeHead(statusCode, statusMessage, kept);
    // Node sends the head with the first body bytes. A body that did not come in the same
    // read as the head must not hold the head back. (A microtask, not an immediate: one per
    // response, and the common answer has its body by then.)
    queueMicrotask(() => this.afterHead());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.discard) return;
    this.bodyStarted = true;
    this.idle?.refresh();
    const res = this.call.f.res;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    const { call } = this;
    const res = call.f.res;
    const status = res.statusCode;
    this.settle(!this.gatewayError);
    if (this.discard) {
      call.attempt();
      return;
    }
    if (trailers && hasAny(trailers)) {
      this.grpcStatus = grpcStatusOf(trailers['grpc-status']) ?? this.grpcStatus;
      res.addTrailers({ ...this.statusTrailers, ...responseHeaders(trailers, call.f.fromApplication ?? false) });
    } else if (this.statusTrailers) {
      res.addTrailers(this.statusTrailers);
    }
    res.end();
    const result: Omit<ForwardResult, 'attempts'> = { status, endpoint: this.endpoint, upstreamReason: this.upstreamReason };
    if (this.grpcStatus !== undefined) result.grpcStatus = this.grpcStatus;
    call.finish(result);
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, _statusCode: number, headers: IncomingHttpHeaders, upstream: Duplex): void {
    const { call } = this;
    const f = call.f;
    this.responded = true;
    clearTimeout(call.overall);
    this.settle(true);
    if (call.finished || !f.upgrade || f.res.headersSent) {
      upstream.destroy();
      return;
    }
    const reason = f.fromApplication ? undefined : headers[REASON_HEADER];
    const endpoint = this.endpoint;
    spliceUpgrade(f.res, f.upgrade, upstream, headers, f.fromApplication ?? false, () => call.finish({ status: 101, endpoint, ...(typeof reason === 'string' ? { upstreamReason: reason } : {}) }));
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error & { code?: string }): void {
    const { call, endpoint } = this;
    const res = call.f.res;
    if (!call.finished && call.gone()) {
      this.settle(undefined);
      call.abandon(endpoint);
      return;
    }
    this.settle(false);
    if (call.finished) return;
    if (err instanceof TimeoutError && !res.headersSent) {
      if (err.perTry && call.canRetry(504)) {
        call.attempt();
        return;
      }
      call.fail('upstream-timeout', err.message, endpoint);
      return;
    }
    if (res.headersSent) {
      res.destroy(err);
      call.finish({ status: res.statusCode, endpoint, reason: err instanceof TimeoutError ? 'upstream-timeout' : 'upstream-reset' });
      return;
    }
    const connect = isConnectFailure(err, this.responded);
    call.lastReason = connect ? 'upstream-connect-failure' : 'upstream-reset';
    const detail = `${endpoint.endpoint.address}:${endpoint.endpoint.meshPort ?? endpoint.endpoint.port}: ${err.message || err.code || 'connection failed'}`;
    call.lastDetail = detail;
    if (call.canRetry(connect ? 'connect-failure' : 'reset')) {
      call.attempt();
      return;
    }
    call.fail(call.lastReason, detail, endpoint);
  }
}

export function forward(f: ForwardRequest): void {
  const call = new Forwarding(f);
  f.budget?.recordRequest();
  if (f.expectContinue && !f.res.headersSent) f.res.writeContinue();
  if (!f.grpc || !f.hasBody || f.budget === undefined) {
    call.attempt();
    return;
  }
  // A gRPC call's body is kept for a retry when it is whole within a few milliseconds and
  // small (a unary call); otherwise (a client stream) it streams through, not replayable.
  bufferGrpcBody(f.req, (buffered) => {
    call.body = buffered.body;
    call.replayable = buffered.whole;
    call.attempt();
  }, () => {
    call.clientGone = true;
    call.abandon();
  });
}
