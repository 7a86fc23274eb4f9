/** forward(): every attempt ends (in-flight counts come back down), whatever the dispatcher does. */
import { deepEqual, equal } from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import type { Dispatcher } from 'undici';
import { DEFAULT_ROUTE_POLICY } from '../config/index.ts';
import { forward, type ForwardResult } from './forward.ts';
import { RetryBudget } from './resilience.ts';
import { EndpointRuntime, type Upstreams } from './upstream.ts';

class FakeResponse extends EventEmitter {
  headersSent = false;
  destroyed = false;
  writableFinished = false;
  statusCode = 200;
  headers: Record<string, unknown> = {};
  writeHead(status: number, headers: Record<string, unknown>) {
    this.statusCode = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }
  end() {
    this.writableFinished = true;
  }
  destroy() {
    this.destroyed = true;
  }
  writeContinue() {
    this.continued = true;
  }
  continued = false;
  addTrailers() {
    return undefined;
  }
  flushHeaders() {
    return undefined;
  }
}

function run(dispatch: () => void, timeoutMs: number): Promise<{ result: ForwardResult; endpoint: EndpointRuntime; res: FakeResponse }> {
  const endpoint = new EndpointRuntime('e', { address: '127.0.0.1', port: 1, pod: 'shop/e-0' });
  const upstreams = { pool: () => ({ dispatch }) } as unknown as Upstreams;
  const res = new FakeResponse();
  return new Promise((resolve) => {
    forward({
      req: new EventEmitter() as IncomingMessage, res: res as unknown as ServerResponse, method: 'GET', path: '/', headers: {}, hasBody: false, expectContinue: true,
      policy: { ...DEFAULT_ROUTE_POLICY, timeoutMs, perTryTimeoutMs: 0 }, upstreams,
      to: endpoint,
      done: (result) => resolve({ result, endpoint, res }),
    });
  });
}

test('a dispatcher that throws ends the attempt with 502 and nothing left in flight', async () => {
  const { result, endpoint, res } = await run(() => { throw new Error('invalid expect header'); }, 1000);
  equal(result.status, 502);
  equal(endpoint.inflight, 0);
  equal(res.continued, true, 'the client was told to send its body once the request was forwarded');
});

test('a dispatcher that never starts the request ends at the overall timeout with 504 and nothing left in flight', async () => {
  const { result, endpoint } = await run(() => undefined, 50);
  equal(result.status, 504);
  equal(result.reason, 'upstream-timeout');
  equal(endpoint.inflight, 0);
});

/**
 * Endpoints `a` and `b` behind fake upstreams: each dispatch is listed in `calls` (the endpoint's
 * key) and handed to `answer` with a controller whose abort ends the attempt with the error, as
 * undici's does.
 */
function twoFakeEndpoints(answer: (e: EndpointRuntime, handler: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController, opts: { body: unknown }) => void) {
  const a = new EndpointRuntime('a', { address: '127.0.0.1', port: 1, pod: 'shop/a-0' });
  const b = new EndpointRuntime('b', { address: '127.0.0.1', port: 2, pod: 'shop/b-0' });
  const calls: string[] = [];
  const upstreams = {
    pool: (e: EndpointRuntime) => ({
      dispatch: (opts: { body: unknown }, handler: Dispatcher.DispatchHandler) => {
        calls.push(e.key);
        const controller = { abort: (err: Error) => handler.onResponseError?.(controller, err), pause: () => undefined, resume: () => undefined } as unknown as Dispatcher.DispatchController;
        answer(e, handler, controller, opts);
      },
    }),
  } as unknown as Upstreams;
  return { a, b, calls, upstreams, to: (tried: readonly EndpointRuntime[]) => [a, b].find((e) => !tried.includes(e)) };
}

/** Two endpoints: the first answers `first` (status, Skiff reason), the second 200. */
function twoEndpoints(method: string, first: { status: number; reason?: string }): Promise<{ result: ForwardResult; calls: string[] }> {
  const { a, calls, upstreams, to } = twoFakeEndpoints((e, handler, controller) => {
    const answer = e === a ? first : { status: 200 };
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, answer.status, answer.reason ? { 'x-skiff-reason': answer.reason } : {}, '');
    handler.onResponseEnd?.(controller, {});
  });
  return new Promise((resolve) => {
    forward({
      req: new EventEmitter() as IncomingMessage, res: new FakeResponse() as unknown as ServerResponse, method, path: '/', headers: {}, hasBody: false,
      policy: DEFAULT_ROUTE_POLICY, budget: new RetryBudget(20, 10), upstreams, to,
      done: (result) => resolve({ result, calls }),
    });
  });
}

test('a peer sidecar that could not reach its application: the request is retried elsewhere, even a POST (the application never saw it)', async () => {
  const { result, calls } = await twoEndpoints('POST', { status: 503, reason: 'upstream-connect-failure' });
  equal(result.status, 200);
  equal(calls.join(','), 'a,b');
});

test('a 503 of the application itself is not retried for a POST', async () => {
  const { result, calls } = await twoEndpoints('POST', { status: 503 });
  equal(result.status, 503);
  equal(calls.join(','), 'a');
});

test('a gRPC call answered UNAVAILABLE before any byte is retried on another endpoint with its body replayed', async () => {
  const bodies: string[] = [];
  const { a, upstreams, to } = twoFakeEndpoints((e, handler, controller, opts) => {
    bodies.push(Buffer.isBuffer(opts.body) ? opts.body.toString() : typeof opts.body);
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, { 'content-type': 'application/grpc', 'grpc-status': e === a ? '14' : '0' }, '');
    handler.onResponseEnd?.(controller, {});
  });
  const req = Readable.from([Buffer.from('call')]) as unknown as IncomingMessage;
  const result = await new Promise<ForwardResult>((resolve) => {
    forward({
      req, res: new FakeResponse() as unknown as ServerResponse, method: 'POST', path: '/pkg.Svc/Get', headers: {}, hasBody: true, grpc: true, http2: true,
      policy: DEFAULT_ROUTE_POLICY, budget: new RetryBudget(20, 10), upstreams, to,
      done: resolve,
    });
  });
  equal(result.attempts, 2);
  equal(result.grpcStatus, 0);
  equal(bodies.join(','), 'call,call');
});

test('a cluster with no endpoint: 503 no-healthy-upstream naming the cluster, nothing dispatched', async () => {
  const res = new FakeResponse();
  const upstreams = { pool: () => { throw new Error('nothing may be dispatched'); } } as unknown as Upstreams;
  const result = await new Promise<ForwardResult>((resolve) => {
    forward({
      req: new EventEmitter() as IncomingMessage, res: res as unknown as ServerResponse, method: 'GET', path: '/', headers: {}, hasBody: false,
      policy: { ...DEFAULT_ROUTE_POLICY, timeoutMs: 1000, perTryTimeoutMs: 0 }, upstreams, target: 'shop/web-v2:80',
      to: () => undefined,
      done: resolve,
    });
  });
  equal(result.status, 503);
  equal(result.reason, 'no-healthy-upstream');
  equal(result.attempts, 0);
  equal(res.headers['x-skiff-detail'], 'shop/web-v2:80 has no ready endpoint');
});

test("Skiff's headers for the next sidecar go to meshed endpoints only, also when a retry changes kind", async () => {
  const meshed = new EndpointRuntime('m', { address: '127.0.0.1', port: 1, pod: 'shop/m-0', identity: 'spiffe://cluster.local/ns/shop/sa/web', meshPort: 15006 });
  const plain = new EndpointRuntime('p', { address: '127.0.0.1', port: 2, pod: 'shop/p-0' });
  const sent: Record<string, unknown>[] = [];
  const upstreams = {
    pool: () => ({
      dispatch: (opts: { headers: Record<string, unknown> }, handler: Dispatcher.DispatchHandler) => {
        // What undici would write: the headers with a value.
        sent.push(Object.fromEntries(Object.entries(opts.headers).filter(([, v]) => v !== undefined)));
        const controller = { abort: () => undefined, pause: () => undefined, resume: () => undefined } as unknown as Dispatcher.DispatchController;
        handler.onRequestStart?.(controller, {});
        handler.onResponseStart?.(controller, sent.length === 1 ? 503 : 200, {}, '');
        handler.onResponseEnd?.(controller, {});
      },
    }),
  } as unknown as Upstreams;
  const call = (order: EndpointRuntime[]) => new Promise<ForwardResult>((resolve) => {
    forward({
      req: new EventEmitter() as IncomingMessage, res: new FakeResponse() as unknown as ServerResponse, method: 'GET', path: '/', headers: { 'x-request-id': 'r' }, hasBody: false,
      sidecarClient: 'shop/Deployment/client/client-0', sidecarService: 'shop/web',
      policy: DEFAULT_ROUTE_POLICY, budget: new RetryBudget(20, 10), upstreams,
      to: (tried) => order.find((e) => !tried.includes(e)),
      done: resolve,
    });
  });
  const forSidecar = { 'x-request-id': 'r', 'x-skiff-client': 'shop/Deployment/client/client-0', 'x-skiff-service': 'shop/web' };
  // The first attempt of each call answers 503 and is retried on the other endpoint.
  equal((await call([meshed, plain])).attempts, 2);
  deepEqual(sent.splice(0), [forSidecar, { 'x-request-id': 'r' }]);
  equal((await call([plain, meshed])).attempts, 2);
  deepEqual(sent.splice(0), [{ 'x-request-id': 'r' }, forSidecar]);
});

test('a request timeout longer than Node can time (99999h) is no limit, not an answer at once', async () => {
  const endpoint = new EndpointRuntime('e', { address: '127.0.0.1', port: 1, pod: 'shop/e-0' });
  const upstreams = {
    pool: () => ({
      dispatch: (_opts: unknown, handler: Dispatcher.DispatchHandler) => {
        // As undici's: an abort ends the attempt with the error, and nothing follows it.
        let aborted = false;
        const abort = (err: Error) => {
          aborted = true;
          handler.onResponseError?.(controller, err);
        };
        const controller = { abort, pause: () => undefined, resume: () => undefined } as unknown as Dispatcher.DispatchController;
        handler.onRequestStart?.(controller, {});
        setTimeout(() => {
          if (aborted) return;
          handler.onResponseStart?.(controller, 200, {}, '');
          handler.onResponseEnd?.(controller, {});
        }, 30);
      },
    }),
  } as unknown as Upstreams;
  const hours = 99_999 * 3_600_000;
  const result = await new Promise<ForwardResult>((resolve) => {
    forward({
      req: new EventEmitter() as IncomingMessage, res: new FakeResponse() as unknown as ServerResponse, method: 'GET', path: '/', headers: {}, hasBody: false,
      policy: { ...DEFAULT_ROUTE_POLICY, timeoutMs: hours, perTryTimeoutMs: hours, streamIdleMs: hours }, upstreams, to: endpoint,
      done: resolve,
    });
  });
  equal(result.status, 200);
});

test('a client that leaves ends the attempt without a retry or a mark against the endpoint; recorded as 499 client-closed', async () => {
  // The endpoint never answers.
  const { a, calls, upstreams, to } = twoFakeEndpoints((_e, handler, controller) => handler.onRequestStart?.(controller, {}));
  for (const started of [false, true]) {
    calls.length = 0;
    const res = new FakeResponse();
    const done = new Promise<ForwardResult>((resolve) => {
      forward({
        req: new EventEmitter() as IncomingMessage, res: res as unknown as ServerResponse, method: 'GET', path: '/', headers: {}, hasBody: false,
        policy: { ...DEFAULT_ROUTE_POLICY, retry: { attempts: 3, on: ['reset', 'gateway-error', 'connect-failure'], budgetPercent: 100, minPerSecond: 10 } },
        budget: new RetryBudget(100, 10), upstreams, outlier: { threshold: 1, baseEjectionMs: 30_000 }, to,
        done: resolve,
      });
    });
    // A stream whose answer started, or a request still waiting for its answer.
    if (started) res.writeHead(200, {});
    res.destroy();
    res.emit('close');
    const result = await done;
    deepEqual({ status: result.status, reason: result.reason, attempts: result.attempts }, started ? { status: 200, reason: undefined, attempts: 1 } : { status: 499, reason: 'client-closed', attempts: 1 });
    deepEqual(calls, ['a'], 'no retry for a client that left');
    equal(a.outlier.consecutiveFailures + a.outlier.ejections, 0, 'nothing held against the endpoint');
    equal(a.inflight, 0);
  }
});
