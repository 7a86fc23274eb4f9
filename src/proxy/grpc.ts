/**
 * gRPC over the proxy: a gRPC call is an HTTP/2 POST with `content-type: application/grpc…`
 * whose outcome is the `grpc-status` trailer (or header, in a trailers-only answer), not the
 * HTTP status, which is 200 for failures too. So:
 *   - the proxy's own answers to a gRPC caller are gRPC errors (HTTP 200, `grpc-status`,
 *     `grpc-message`), e.g. PERMISSION_DENIED for an access denial;
 *   - metrics count a call by its grpc-status, mapped to the HTTP status of the same meaning
 *     (the mapping google.rpc.Code documents), so `status_code!~"5.."` means the same for
 *     gRPC and HTTP traffic (UNAVAILABLE → 503, DEADLINE_EXCEEDED → 504, …);
 *   - a caller's `grpc-timeout` shortens the route's request timeout.
 * A unary call's small body is kept so the call can be retried (forward.ts): on a connect
 * failure, or on UNAVAILABLE before any response byte; a streaming call is never retried.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Http2ServerRequest } from 'node:http2';
import { isHttp2 } from './h2-frontend.ts';
import type { RoutePolicy } from '../config/index.ts';

/** gRPC status code → the HTTP status of the same meaning. */
const HTTP_OF_GRPC: readonly number[] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** HTTP status of a proxy answer → gRPC code (gRPC's own HTTP-to-gRPC mapping, plus 403/504 as their meaning). */
function grpcOfHttp(status: number): number {
  switch (status) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: case 405: return 12; // UNIMPLEMENTED
    case 429: return 8; // RESOURCE_EXHAUSTED
    case 504: return 4; // DEADLINE_EXCEEDED
    case 502: case 503: return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

export function isGrpcRequest(req: IncomingMessage | Http2ServerRequest | undefined): boolean {
  if (req === undefined || !isHttp2(req)) return false;
  const type = req.headers['content-type'] ?? '';
  return type.startsWith('application/grpc') && !type.startsWith('application/grpc-web');
}

/** The status metrics record: for a gRPC answer, its grpc-status as an HTTP status. */
export function effectiveStatus(httpStatus: number, grpcStatus: number | undefined): number {
  if (grpcStatus === undefined || httpStatus !== 200) return httpStatus;
  return HTTP_OF_GRPC[grpcStatus] ?? 500;
}

/** A `grpc-status` value, when it is a valid code. */
export function grpcStatusOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^[0-9]{1,2}$/.test(value)) return undefined;
  const code = Number(value);
  return code <= 16 ? code : undefined;
}

/** The headers and trailers of a proxy answer to a gRPC caller. */
export function grpcAnswer(httpStatus: number, detail: string): { grpcStatus: number; trailers: Record<string, string> } {
  const grpcStatus = grpcOfHttp(httpStatus);
  // grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
  const message = detail.replace(/[^\x20-\x24\x26-\x7e]/g, (c) => encodeURIComponent(c));
  return { grpcStatus, trailers: { 'grpc-status': String(grpcStatus), 'grpc-message': message } };
}

/** Removes a trailers-only answer's status fields from its headers and returns them. */
export function takeGrpcStatus(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const taken: Record<string, string | string[]> = {};
  for (const name of ['grpc-status', 'grpc-message', 'grpc-status-details-bin']) {
    const value = headers[name];
    if (value === undefined) continue;
    taken[name] = value;
    delete headers[name];
  }
  return taken;
}

const UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** `grpc-timeout` (at most 8 digits and a unit) in milliseconds, rounded up. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  const match = typeof value === 'string' ? /^([0-9]{1,8})([HMSmun])$/.exec(value) : null;
  if (!match) return undefined;
  return Math.max(1, Math.ceil(Number(match[1]) * (UNITS[match[2] as string] as number)));
}

/** The route's policy with its request timeout shortened to the caller's gRPC deadline. */
export function withGrpcDeadline(policy: RoutePolicy, headers: IncomingHttpHeaders): RoutePolicy {
  const deadline = parseGrpcTimeout(headers['grpc-timeout']);
  if (deadline === undefined || (policy.timeoutMs > 0 && policy.timeoutMs <= deadline)) return policy;
  return { ...policy, timeoutMs: deadline };
}

const BUFFER_LIMIT = 64 * 1024;
const BUFFER_WAIT_MS = 10;

/**
 * Reads a gRPC call's request body for a retry: whole when it ends within BUFFER_WAIT_MS and
 * within BUFFER_LIMIT (a unary call), else what was read so far followed by the rest as a
 * stream (a client stream: not replayable). `gone`: the client went away first.
 */
export function bufferGrpcBody(req: IncomingMessage, ready: (b: { body: Buffer | Readable; whole: boolean }) => void, gone: () => void): void {
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
