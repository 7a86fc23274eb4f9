/** Header handling shared by both directions: hop-by-hop removal, request ids, internal headers. */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { RequestFacts } from '../config/index.ts';
import { isHttp2 } from './h2-frontend.ts';

/**
 * RFC 9110 §7.6.1 connection-specific fields, plus the proxy ones clients still send, and
 * `expect` (answered by this hop: the proxy sends 100 Continue itself when it forwards).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings', 'expect']);
/** Says which client certificate a proxy verified; only Skiff may set it (Envoy's `sanitize_set`). */
export const XFCC_HEADER = 'x-forwarded-client-cert';

/** Headers Skiff adds between sidecars; never trusted from, nor passed to, applications. */
export const CLIENT_HEADER = 'x-skiff-client';
/** The service (`ns/name`) the client addressed, so the server can label its metrics. */
export const SERVICE_HEADER = 'x-skiff-service';
const INTERNAL_PREFIX = 'x-skiff-';

/** `TE: trailers` is the one TE HTTP/2 allows, and gRPC servers look for it: it goes on. */
function keptTe(name: string, value: string | string[]): boolean {
  return name === 'te' && value === 'trailers';
}

/** The request's authority: `Host` (HTTP/1.1) or `:authority` (HTTP/2). */
export function hostOf(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host ?? headers[':authority'];
  return Array.isArray(host) ? host[0] : host;
}

/** Copies request headers without hop-by-hop fields (and those `Connection` names) or Skiff's own. */
export function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = namedByConnection(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    // HTTP/2 pseudo-headers (`:path`, …) are the request line, rebuilt by the next hop.
    if (value === undefined || name.startsWith(':') || (HOP_BY_HOP.has(name) && !keptTe(name, value)) || named?.has(name) || name.startsWith(INTERNAL_PREFIX) || name === XFCC_HEADER) continue;
    out[name] = value;
  }
  if (out['x-request-id'] === undefined) out['x-request-id'] = randomUUID();
  return out;
}

/** Sets XFCC to what this proxy verified: `By=<own identity>;URI=<peer identity>`. */
export function setVerifiedClientCert(headers: Record<string, string | string[]>, own: string | undefined, peer: string): void {
  headers[XFCC_HEADER] = own ? `By=${own};URI=${peer}` : `URI=${peer}`;
}

/** Appends the address the connection really came from, so the last X-Forwarded-For entry is always true. */
export function setForwardedFor(headers: Record<string, string | string[]>, remoteAddress: string | undefined): void {
  if (!remoteAddress) return;
  const address = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
  const previous = headers['x-forwarded-for'];
  const chain = Array.isArray(previous) ? previous.join(', ') : previous;
  headers['x-forwarded-for'] = chain ? `${chain}, ${address}` : address;
}

/** Whether the client waits for `100 Continue` before sending its body. */
export function expectsContinue(headers: IncomingHttpHeaders): boolean {
  return headers.expect?.toLowerCase() === '100-continue';
}

/**
 * The fields a Connection header names as hop-by-hop, beyond the standard ones; undefined
 * when it names none (the usual `keep-alive` or `close`: no set is made per message).
 */
function namedByConnection(connection: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (!connection) return undefined;
  const text = String(connection).toLowerCase();
  if (text === 'keep-alive' || text === 'close' || text === 'upgrade') return undefined;
  return new Set(text.split(',').map((s) => s.trim()));
}

/** Response headers as Node's writeHead wants them, without hop-by-hop fields. */
export function responseHeaders(headers: Record<string, string | string[] | undefined>, dropInternal = false): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = namedByConnection(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name) || (dropInternal && name.startsWith(INTERNAL_PREFIX))) continue;
    out[name] = value;
  }
  return out;
}

/** The value of a header as the route matcher sees it (repeated headers joined with ", "). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** What route rules read of a request (config/evaluate.ts): its headers read on demand, no closure per request. */
export class RequestHeaderFacts implements RequestFacts {
  readonly method: string;
  readonly path: string;
  private readonly headers: IncomingHttpHeaders;
  constructor(method: string, path: string, headers: IncomingHttpHeaders) {
    this.method = method;
    this.path = path;
    this.headers = headers;
  }

  header(name: string): string | undefined {
    return headerValue(this.headers, name);
  }
}

/**
 * Whether a request carries a body: over HTTP/2 unless its HEADERS frame ended the stream;
 * over HTTP/1.1 when chunked or with a non-zero Content-Length.
 */
export function hasBody(req: IncomingMessage | Http2ServerRequest): boolean {
  if (isHttp2(req)) return !req.stream.endAfterHeaders;
  const headers = req.headers;
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
