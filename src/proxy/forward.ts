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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RetryCondition, RoutePolicy } from '../config/index.ts';
import { REASON_HEADER, sendGenerated, type Reason } from './generated.ts';
import { grpcStatusOf, takeGrpcStatus } from './grpc.ts';
import { responseHeaders } from './http-headers.ts';
import type { RetryBudget } from './resilience.ts';
import { spliceUpgrade, STREAM_IDLE_MS, type UpgradeRequest } from './upgrade.ts';
import { pendingOf, type EndpointRuntime, type Upstreams } from './upstream.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const GATEWAY_ERRORS = new Set([502, 503, 504]);

/** Whether the route's retry conditions cover an upstream status, a connect failure or a reset. */
function retriable(on: readonly RetryCondition[], what: number | 'connect-failure' | 'reset'): boolean {
  if (what === 'connect-failure' || what === 'reset') return on.includes(what);
  return GATEWAY_ERRORS.has(what) && (on.includes('gateway-error') || on.includes(String(what) as RetryCondition));
}
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA']);

export interface ForwardResult {
  status: number;
  endpoint?: EndpointRuntime;
  reason?: Reason;
  /** The reason token of an answer another Skiff proxy made (its `x-skiff-reason`), e.g. a denial. */
  upstreamReason?: string;
  /** A gRPC answer's grpc-status (trailer, or header of a trailers-only answer). */
  grpcStatus?: number;
  attempts: number;
}

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  hasBody: boolean;
  /** The client sent `Expect: 100-continue`: tell it to send the body once we forward. */
  expectContinue?: boolean;
  policy: RoutePolicy;
  /** Absent: no retries (the inbound side never retries; its client does). */
  budget?: RetryBudget;
  upstreams: Upstreams;
  pick(tried: ReadonlySet<EndpointRuntime>): EndpointRuntime | undefined;
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

export function forward(f: ForwardRequest): void {
  const tried = new Set<EndpointRuntime>();
  let replayable = !f.hasBody;
  let body: IncomingMessage | Readable | Buffer | null = f.hasBody ? f.req : null;
  const idempotent = IDEMPOTENT.has(f.method);
  let attempts = 0;
  let finished = false;
  let current: Dispatcher.DispatchController | undefined;
  /** Ends the attempt in flight (its endpoint's in-flight count, timers, outlier record). */
  let settleCurrent: ((ok: boolean) => void) | undefined;
  let lastReason: Reason = 'no-healthy-upstream';
  /** Set by a failed attempt; none yet: the cluster had no endpoint (the text is built only then, off the request path). */
  let lastDetail: string | undefined;

  const finish = (result: Omit<ForwardResult, 'attempts'>) => {
    if (finished) return;
    finished = true;
    clearTimeout(overall);
    f.done({ ...result, attempts });
  };
  const fail = (reason: Reason, detail: string, endpoint?: EndpointRuntime) => {
    const status = sendGenerated(f.res, reason, detail);
    finish({ status, reason, ...(endpoint ? { endpoint } : {}) });
  };

  const overall = f.policy.timeoutMs > 0 ? setTimeout(() => {
    if (current) {
      current.abort(new TimeoutError(`no answer within ${f.policy.timeoutMs} ms`, false));
      return;
    }
    // The dispatcher never started the request: end the attempt here, or its endpoint would
    // count a request in flight forever.
    settleCurrent?.(false);
    fail('upstream-timeout', `no answer within ${f.policy.timeoutMs} ms`);
  }, f.policy.timeoutMs) : undefined;

  // A response closed before it finished means the client went away: stop the upstream too.
  // (A response closes once: `on`, without once()'s wrapper per request.)
  f.res.on('close', () => {
    if (!f.res.writableFinished && !finished) current?.abort(new Error('the client went away'));
  });

  /** `anyMethod`: an answer that says the application did not process the call (gRPC UNAVAILABLE). */
  const canRetry = (what: number | 'connect-failure' | 'reset', anyMethod = false) =>
    attempts <= f.policy.retry.attempts && f.budget !== undefined && retriable(f.policy.retry.on, what)
    && (what === 'connect-failure' ? replayable : replayable && (idempotent || anyMethod)) && f.budget.tryRetry();

  const attempt = () => {
    const endpoint = f.pick(tried);
    if (!endpoint) {
      fail(lastReason, lastDetail ?? (f.target === undefined ? 'no endpoint is available' : `${f.target} has no ready endpoint`));
      return;
    }
    // Requests waiting for a connection are some of those in flight: while fewer are in flight
    // than the limit, none need counting (undici counts by walking every connection).
    const pending = f.maxPendingRequests === undefined || endpoint.inflight < f.maxPendingRequests ? 0 : pendingOf(endpoint);
    if (f.maxPendingRequests !== undefined && pending >= f.maxPendingRequests) {
      fail('circuit-open', `${pending} requests already wait for a connection to ${endpoint.endpoint.address}:${endpoint.endpoint.port} (limit ${f.maxPendingRequests})`, endpoint);
      return;
    }
    attempts++;
    tried.add(endpoint);
    endpoint.inflight++;
    let responded = false;
    let discard = false;
    let settled = false;
    let upstreamReason: string | undefined;
    let grpcStatus: number | undefined;
    let statusTrailers: Record<string, string | string[]> | undefined;
    let bodyStarted = false;
    const perTry = f.policy.perTryTimeoutMs > 0 ? setTimeout(() => current?.abort(new TimeoutError(`no answer within the per-try timeout of ${f.policy.perTryTimeoutMs} ms`, true)), f.policy.perTryTimeoutMs) : undefined;
    let idle: NodeJS.Timeout | undefined;
    /** The response started: the request timeouts are done, the stream idle time takes over. */
    const streaming = () => {
      clearTimeout(overall);
      clearTimeout(perTry);
      const idleMs = f.policy.streamIdleMs ?? STREAM_IDLE_MS;
      if (idleMs > 0) idle = setTimeout(() => current?.abort(new TimeoutError(`no response byte for ${idleMs} ms`, false)), idleMs);
    };
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(perTry);
      clearTimeout(idle);
      endpoint.inflight--;
      current = undefined;
      settleCurrent = undefined;
      if (f.outlier) endpoint.outlier.record(ok, Date.now(), f.outlier.threshold, f.outlier.baseEjectionMs);
    };
    settleCurrent = settle;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        current = controller;
        if (finished) controller.abort(new Error('request already answered'));
      },
      onResponseStart(controller, statusCode, headers, statusMessage) {
        responded = true;
        // The destination's sidecar could not reach its application (it exited first while its
        // pod terminates): the application never saw the request, so it is retried as a
        // connect failure, whatever its method (and still as a gateway error, if only that is listed).
        const unreached = !f.fromApplication && statusCode === 503 && headers[REASON_HEADER] === 'upstream-connect-failure';
        // gRPC UNAVAILABLE before any response byte (a trailers-only answer): the call was not
        // processed, which gRPC clients themselves treat as safe to retry.
        const unavailable = f.grpc === true && statusCode === 200 && grpcStatusOf(headers['grpc-status']) === 14;
        if ((unreached && canRetry('connect-failure')) || (unavailable && canRetry(503, true)) || (GATEWAY_ERRORS.has(statusCode) && canRetry(statusCode))) {
          discard = true;
          lastReason = 'no-healthy-upstream';
          lastDetail = `upstream answered ${statusCode}`;
          return;
        }
        if (f.res.headersSent || f.res.destroyed) {
          controller.abort(new Error('response already started'));
          return;
        }
        const reason = f.fromApplication ? undefined : headers[REASON_HEADER];
        if (typeof reason === 'string') upstreamReason = reason;
        streaming();
        grpcStatus = grpcStatusOf(headers['grpc-status']);
        const kept = responseHeaders(headers, f.fromApplication ?? false);
        // A trailers-only gRPC answer: its status goes on as trailers, which every client reads
        // (Node cannot end a stream on the response HEADERS frame once the answer is relayed).
        if (grpcStatus !== undefined && f.http2) statusTrailers = takeGrpcStatus(kept);
        // HTTP/2 has no reason phrase.
        if (f.http2 || !statusMessage) f.res.writeHead(statusCode, kept);
        else f.res.writeHead(statusCode, statusMessage, kept);
        // Node sends the head with the first body bytes. A body that did not come in the same
        // read as the head (server-sent events, long polling) must not hold the head back: once
        // undici has parsed what it read, send the head on its own. (A microtask, not an
        // immediate: one per response, and the common answer has its body by then.)
        queueMicrotask(() => {
          if (!bodyStarted && !f.res.writableEnded && !f.res.destroyed) f.res.flushHeaders();
        });
      },
      onResponseData(controller, chunk) {
        if (discard) return;
        bodyStarted = true;
        idle?.refresh();
        if (!f.res.write(chunk)) {
          controller.pause();
          f.res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd(_controller, trailers) {
        const status = f.res.statusCode;
        settle(!discard);
        if (discard) {
          attempt();
          return;
        }
        if (trailers && Object.keys(trailers).length > 0) {
          grpcStatus = grpcStatusOf(trailers['grpc-status']) ?? grpcStatus;
          f.res.addTrailers({ ...statusTrailers, ...responseHeaders(trailers, f.fromApplication ?? false) });
        } else if (statusTrailers) {
          f.res.addTrailers(statusTrailers);
        }
        f.res.end();
        finish({ status, endpoint, upstreamReason, ...(grpcStatus !== undefined ? { grpcStatus } : {}) });
      },
      onRequestUpgrade(_controller, _statusCode, headers, upstream) {
        responded = true;
        clearTimeout(overall);
        settle(true);
        if (finished || !f.upgrade || f.res.headersSent) {
          upstream.destroy();
          return;
        }
        const reason = f.fromApplication ? undefined : headers[REASON_HEADER];
        spliceUpgrade(f.res, f.upgrade, upstream, headers, f.fromApplication ?? false, () => finish({ status: 101, endpoint, ...(typeof reason === 'string' ? { upstreamReason: reason } : {}) }));
      },
      onResponseError(_controller, err: Error & { code?: string }) {
        settle(false);
        if (finished) return;
        if (err instanceof TimeoutError && !f.res.headersSent) {
          if (err.perTry && canRetry(504)) {
            attempt();
            return;
          }
          fail('upstream-timeout', err.message, endpoint);
          return;
        }
        if (f.res.headersSent) {
          f.res.destroy(err);
          finish({ status: f.res.statusCode, endpoint, reason: err instanceof TimeoutError ? 'upstream-timeout' : 'upstream-reset' });
          return;
        }
        const connect = isConnectFailure(err, responded);
        lastReason = connect ? 'upstream-connect-failure' : 'upstream-reset';
        const detail = `${endpoint.endpoint.address}:${endpoint.endpoint.meshPort ?? endpoint.endpoint.port}: ${err.message || err.code || 'connection failed'}`;
        lastDetail = detail;
        if (canRetry(connect ? 'connect-failure' : 'reset')) {
          attempt();
          return;
        }
        fail(lastReason, detail, endpoint);
      },
    };
    try {
      f.upstreams.pool(endpoint, f.http2 ? 'h2' : 'http1').dispatch({
        path: f.path,
        method: f.method as Dispatcher.HttpMethod,
        headers: f.headers,
        body,
        headersTimeout: 0,
        bodyTimeout: 0,
        ...(f.upgrade ? { upgrade: f.upgrade.protocol } : {}),
        // undici would otherwise send the Host header's name as SNI; a peer sidecar reads the
        // target port from SNI, and the Host (a Service port) cannot say which pod port it is.
        ...(endpoint.meshed ? { servername: endpoint.servername } : {}),
      }, handler);
    } catch (err) {
      // A dispatcher that refuses synchronously still ends this attempt like any other failure.
      handler.onResponseError?.(undefined as unknown as Dispatcher.DispatchController, err as Error);
    }
  };

  f.budget?.recordRequest();
  if (f.expectContinue && !f.res.headersSent) f.res.writeContinue();
  if (!f.grpc || !f.hasBody || f.budget === undefined) {
    attempt();
    return;
  }
  // A gRPC call's body is kept for a retry when it is whole within a few milliseconds and
  // small (a unary call); otherwise (a client stream) it streams through, not replayable.
  bufferBody(f.req, (buffered) => {
    body = buffered.body;
    replayable = buffered.whole;
    attempt();
  }, () => fail('upstream-reset', 'the client went away before its request ended'));
}

const BUFFER_LIMIT = 64 * 1024;
const BUFFER_WAIT_MS = 10;

function bufferBody(req: IncomingMessage, ready: (b: { body: Buffer | Readable; whole: boolean }) => void, gone: () => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let decided = false;
  const decide = (whole: boolean) => {
    if (decided) return;
    decided = true;
    clearTimeout(wait);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    if (whole) {
      ready({ body: Buffer.concat(chunks), whole: true });
      return;
    }
    req.pause();
    const rest = new PassThrough();
    for (const c of chunks) rest.write(c);
    req.pipe(rest);
    req.resume();
    ready({ body: rest, whole: false });
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > BUFFER_LIMIT) decide(false);
  };
  const onEnd = () => decide(true);
  const onClose = () => {
    if (decided) return;
    decided = true;
    clearTimeout(wait);
    gone();
  };
  const wait = setTimeout(() => decide(false), BUFFER_WAIT_MS);
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('close', onClose);
}
