/**
 * The HTTP front of a listener: a Fastify instance on a Node http.Server whose connections
 * we hand it ourselves (plain sockets, or TLS sockets after we looked at their first bytes).
 * One catch-all route takes over the raw request and response, leaving bodies unparsed so
 * they stream through. Node's strict parser (llhttp) rejects malformed and ambiguous
 * requests (conflicting Content-Length/Transfer-Encoding, oversized headers) with 400 or 431
 * and closes the connection.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { rawGenerated, sendGenerated, type Reason } from './generated.ts';
import { createH2Frontend, prefaceState, setConnectionFacts, type ConnectionFacts, type H2Frontend } from './h2-frontend.ts';
import { UPGRADE, upgradeProtocol, type UpgradeRequest } from './upgrade.ts';

export const AUTHORITY = Symbol('skiff.authority');
export type ProxiedRequest = IncomingMessage & { [AUTHORITY]?: string; [UPGRADE]?: UpgradeRequest };

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'];
const PROXIED_METHODS = new Set(METHODS);

export interface Frontend {
  app: FastifyInstance;
  /** HTTP/1.1: handed connections (or, for the outbound listener without capture, listening). */
  server: http.Server;
  h2: H2Frontend;
  /** A plaintext connection (paused): HTTP/2 if it opens with the preface, else HTTP/1.1. */
  acceptPlain(socket: Socket, facts: ConnectionFacts): void;
  /** A TLS connection, by the protocol ALPN negotiated. */
  acceptSecure(socket: Duplex & { alpnProtocol?: string | false | null }, facts: ConnectionFacts): void;
}

/** Time limits of an HTTP listener; every phase of a connection has one. */
export interface HttpTimeouts {
  /** From the connection's start (or the previous response) to the end of the request headers. */
  headersMs: number;
  /** A connection on which nothing moves either way for this long is closed. */
  idleMs: number;
  /** An idle keep-alive connection between requests. */
  keepAliveMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, idleMs: 300_000, keepAliveMs: 65_000 };

/** What Node's parser refused, answered with a status and Skiff's reason instead of a bare 400. */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [reason, detail]: [Reason, string] = err.code === 'HPE_HEADER_OVERFLOW' ? ['headers-too-large', 'the request headers are too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'HPE_HEADERS_TIMEOUT' ? ['request-timeout', 'the request headers did not arrive in time']
      : ['bad-request', `malformed request (${err.code ?? 'parse error'})`];
  socket.end(rawGenerated(reason, detail));
}

/** `http://host:port/path?q` (absolute-form, as sent to an HTTP proxy) → authority and path. */
export function splitAbsoluteForm(url: string): { authority: string; path: string } | undefined {
  if (url.startsWith('/')) return undefined;
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  const slash = url.indexOf('/', scheme + 3);
  const query = url.indexOf('?', scheme + 3);
  const end = slash < 0 ? (query < 0 ? url.length : query) : query >= 0 && query < slash ? query : slash;
  // User info (`user@host`) is kept, so the authority check refuses it instead of guessing a host.
  const authority = url.slice(scheme + 3, end);
  const rest = url.slice(end);
  return { authority, path: rest.startsWith('/') ? rest : `/${rest}` };
}

export async function createFrontend(handle: (req: ProxiedRequest, res: ServerResponse) => void, timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS): Promise<Frontend> {
  const server = http.createServer({
    // A missing Host is answered by the handlers (with a reason), not by Node's bare 400.
    maxHeaderSize: 16 * 1024, insecureHTTPParser: false, requireHostHeader: false, requestTimeout: 0, headersTimeout: timeouts.headersMs, keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks request-header times on this interval, also with no connection: every 2.5 s
    // by default (a slow client is cut after 10-12.5 s), not every second (one wake-up of an
    // idle sidecar per listener per second).
    connectionsCheckingInterval: Math.max(50, Math.floor(timeouts.headersMs / 4)),
  });
  // An idle keep-alive connection must be closed by the keep-alive timer (which clients expect)
  // before the idle timer could cut it under a request the client just sent on it.
  server.timeout = Math.max(timeouts.idleMs, timeouts.keepAliveMs + 1000);
  server.on('timeout', (socket: Duplex) => socket.destroy());
  server.on('clientError', answerClientError);
  // CONNECT would make the proxy a tunnel to anywhere: refuse it with a reason, not a silent close.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => socket.end(rawGenerated('method-not-allowed', 'CONNECT is not proxied')));
  const app = Fastify({
    serverFactory: (handler) => {
      // Methods outside the proxied set never reach the router (which would answer its own 404).
      const guarded = (req: IncomingMessage, res: ServerResponse) => {
        if (PROXIED_METHODS.has(req.method ?? '')) handler(req, res);
        else sendGenerated(res, 'method-not-allowed', `method ${(req.method ?? '').slice(0, 32)} is not proxied`);
      };
      server.on('request', guarded);
      // Upgrade requests (WebSocket) take the same path, with a response bound to the socket:
      // refusals and non-101 answers are ordinary responses, after which the connection closes.
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const res = new http.ServerResponse(req);
        res.assignSocket(socket as Socket);
        res.shouldKeepAlive = false;
        res.once('finish', () => socket.end());
        socket.on('error', () => socket.destroy());
        const protocol = upgradeProtocol(req.headers);
        if (protocol !== undefined) (req as ProxiedRequest)[UPGRADE] = { socket, head, protocol };
        guarded(req, res);
      });
      // `Expect: 100-continue`: the handlers decide first and send 100 only when they forward.
      server.on('checkContinue', guarded);
      server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => sendGenerated(res, 'expectation-failed', 'only Expect: 100-continue is supported'));
      return server;
    },
    logger: false,
    return503OnClosing: false,
    // URLs the router cannot decode (`/%`) get Skiff's 400 with a reason, like every other refusal.
    frameworkErrors: (error, request, reply) => {
      reply.hijack();
      sendGenerated(reply.raw, 'bad-request', `malformed request target (${(error as { code?: string }).code ?? 'bad url'})`);
    },
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      const absolute = splitAbsoluteForm(url);
      if (!absolute) return url;
      (req as ProxiedRequest)[AUTHORITY] = absolute.authority;
      return absolute.path;
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.route({
    method: METHODS,
    url: '/*',
    handler: (request, reply) => {
      reply.hijack();
      handle(request.raw as ProxiedRequest, reply.raw);
    },
  });
  app.setNotFoundHandler((request, reply) => {
    reply.hijack();
    sendGenerated(reply.raw, 'method-not-allowed', `method ${request.raw.method ?? ''} is not proxied`);
  });
  await app.ready();
  const h2 = createH2Frontend((req, res) => {
    if (!PROXIED_METHODS.has(req.method)) {
      sendGenerated(res as unknown as ServerResponse, 'method-not-allowed', `method ${req.method.slice(0, 32)} is not proxied`);
      return;
    }
    handle(req as unknown as ProxiedRequest, res as unknown as ServerResponse);
  }, Math.max(timeouts.idleMs, timeouts.keepAliveMs + 1000));
  const http1 = (socket: Duplex, facts: ConnectionFacts) => {
    setConnectionFacts(socket, facts);
    server.emit('connection', socket);
  };
  return {
    app, server, h2,
    acceptSecure: (socket, facts) => (socket.alpnProtocol === 'h2' ? h2.accept(socket, facts) : http1(socket, facts)),
    acceptPlain: (socket, facts) => {
      const chunks: Buffer[] = [];
      // Bytes that could still become the preface wait at most the request-header time.
      const undecided = setTimeout(() => socket.destroy(), timeouts.headersMs);
      const look = () => {
        for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk);
        const first = Buffer.concat(chunks);
        const seen = prefaceState(first);
        if (seen === 'more') return;
        clearTimeout(undecided);
        socket.off('readable', look);
        if (seen === 'h2') {
          h2.acceptPrefaced(socket, first, facts);
          return;
        }
        if (first.length > 0) socket.unshift(first);
        http1(socket, facts);
        socket.resume();
      };
      socket.on('readable', look);
      socket.once('close', () => clearTimeout(undecided));
      // Bytes a listener already looked at (and put back) raise no new 'readable': look now.
      if (socket.readableLength > 0) look();
    },
  };
}

/**
 * For a server that is handed connections instead of listening: starts Node's periodic check
 * of request-header timeouts, which Node otherwise starts only when the server listens.
 */
export function enforceTimeoutsWithoutListening(frontend: Frontend): void {
  if (!frontend.server.listening) frontend.server.emit('listening');
}
