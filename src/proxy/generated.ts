/**
 * Responses the proxy makes itself, from one registry: every reason has one status (only an
 * injected fault answers with the status its policy names) and a documented meaning
 * (docs/answers.md; a test keeps both in step). Every answer carries `x-skiff-reason` (the
 * stable token) and `x-skiff-detail` (a sentence), so a caller can always tell Skiff's answer
 * from the application's.
 */
import type { ServerResponse } from 'node:http';
import { grpcAnswer, isGrpcRequest } from './grpc.ts';

export const REASON_HEADER = 'x-skiff-reason';
export const DETAIL_HEADER = 'x-skiff-detail';

export const ANSWERS = {
  'bad-request': { status: 400, summary: 'The request is malformed: its framing, request target, Host, path encoding or missing host.' },
  'request-timeout': { status: 408, summary: 'The request headers did not arrive in time.' },
  'headers-too-large': { status: 431, summary: 'The request headers exceed 16 KiB.' },
  'method-not-allowed': { status: 405, summary: 'CONNECT or a method the proxy does not carry.' },
  'expectation-failed': { status: 417, summary: 'An Expect header other than 100-continue.' },
  'unknown-host': { status: 502, summary: 'The host is not a Service of the mesh; the proxy is never an open proxy.' },
  'unknown-port': { status: 404, summary: 'The destination workload serves nothing on the port asked for.' },
  'no-route': { status: 404, summary: 'No route of the Service port matches the request.' },
  'no-backends': { status: 503, summary: 'The route has no backend, or every TrafficSplit weight is 0.' },
  'no-healthy-upstream': { status: 503, summary: 'Every endpoint failed or none is ready.' },
  'circuit-open': { status: 503, summary: 'A circuit breaker limit (requests in flight, pending requests) is reached.' },
  'upstream-timeout': { status: 504, summary: 'No answer within the route\'s request or per-try timeout.' },
  'upstream-connect-failure': { status: 503, summary: 'No connection to the endpoint could be made (after any retries).' },
  'upstream-reset': { status: 502, summary: 'The endpoint closed or reset the connection before answering.' },
  'access-denied': { status: 403, summary: 'No TrafficTarget allows the caller\'s identity this request.' },
  'unauthenticated': { status: 403, summary: 'A caller without a mesh certificate, in a strict namespace.' },
  'rate-limited': { status: 429, summary: 'The TrafficPolicy rate limit of the destination port (or of this caller) is exhausted.' },
  'fault-injected': { status: 0, summary: 'A TrafficPolicy fault injection answered instead of forwarding; the status is the policy\'s.' },
  'not-ready': { status: 503, summary: 'The proxy has no configuration yet.' },
  'overloaded': { status: 503, summary: 'The sidecar holds as many requests in flight as its memory limit allows.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type Reason = keyof typeof ANSWERS;

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 417: 'Expectation Failed', 431: 'Request Header Fields Too Large' };

/** Header values must be ASCII without control characters. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

/** The status of a reason; `fault-injected` takes the status its policy names. */
export function statusOf(reason: Reason, faultStatus?: number): number {
  return reason === 'fault-injected' ? (faultStatus ?? 500) : ANSWERS[reason].status;
}

/** A whole HTTP/1.1 response as bytes, for sockets no longer (or not yet) owned by a request. */
export function rawGenerated(reason: Reason, detail: string): string {
  const status = statusOf(reason);
  const body = `skiff: ${detail}\n`;
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${REASON_HEADER}: ${reason}\r\n${DETAIL_HEADER}: ${headerSafe(detail)}\r\nconnection: close\r\n\r\n${body}`;
}

/** Answers with the reason's status (or, for a fault, the policy's); returns the status sent. */
export function sendGenerated(res: ServerResponse, reason: Reason, detail: string, faultStatus?: number): number {
  const status = statusOf(reason, faultStatus);
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return status;
  }
  if (isGrpcRequest(res.req)) {
    // A gRPC caller reads the outcome from grpc-status: HTTP 200 and a gRPC error.
    const { trailers } = grpcAnswer(reason === 'unauthenticated' ? 401 : status, detail);
    res.writeHead(200, { 'content-type': 'application/grpc', [REASON_HEADER]: reason, [DETAIL_HEADER]: headerSafe(detail) });
    res.addTrailers(trailers);
    res.end();
    return status;
  }
  const body = `skiff: ${detail}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [REASON_HEADER]: reason,
    [DETAIL_HEADER]: headerSafe(detail),
  });
  res.end(body);
  return status;
}
