/**
 * HTTP/2 on the proxy's listeners, beside HTTP/1.1 on the same port. A plaintext connection
 * that opens with the HTTP/2 preface (h2c with prior knowledge, how gRPC clients talk to a
 * local proxy) or a mesh TLS connection that negotiated `h2` in ALPN is handed to a node:http2
 * server; its requests go to the same handlers as HTTP/1.1 ones, through Node's compatibility
 * API. What a listener learned about a connection before HTTP started (the verified peer, the
 * SNI port, the original destination) is kept per connection: the socket for HTTP/1.1, the
 * session for HTTP/2.
 */
import http2 from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** What a listener knows about a connection before its first request. */
export interface ConnectionFacts {
  /** The verified SPIFFE ID of a mesh peer. */
  identity?: string;
  namespace?: string;
  /** The target port: from SNI (mesh) or the original destination (captured). */
  port?: number;
  /** Captured outbound: `address:port` the application connected to. */
  originalAuthority?: string;
  remoteAddress?: string;
}

const facts = new WeakMap<object, ConnectionFacts>();

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** HTTP/2 limits: streams per connection, header list size as HTTP/1.1's 16 KiB, session memory. */
export const H2_SETTINGS = { maxConcurrentStreams: 256, maxHeaderListSize: 16 * 1024 };

type AnyRequest = IncomingMessage | http2.Http2ServerRequest;

/** Whether a request came over HTTP/2 (not merely an HTTP/1 request line claiming `HTTP/2.0`). */
export function isHttp2(req: AnyRequest): req is http2.Http2ServerRequest {
  return req instanceof http2.Http2ServerRequest;
}

/** The facts of the connection a request came on. */
export function connectionFacts(req: AnyRequest): ConnectionFacts {
  const key = isHttp2(req) ? req.stream.session : req.socket;
  return (key && facts.get(key)) ?? {};
}

export function setConnectionFacts(socket: Duplex, value: ConnectionFacts): void {
  facts.set(socket, value);
}

export interface H2Frontend {
  server: http2.Http2Server;
  /** A TLS socket that negotiated h2. */
  accept(socket: Duplex, facts: ConnectionFacts): void;
  /** A plaintext socket whose first bytes (`first`, already read) are the preface. */
  acceptPrefaced(socket: Socket, first: Buffer, facts: ConnectionFacts): void;
}

export function createH2Frontend(onRequest: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void, idleMs: number): H2Frontend {
  const server = http2.createServer({ settings: H2_SETTINGS, maxSessionMemory: 16, maxHeaderListPairs: 256 });
  let pending: ConnectionFacts | undefined;
  // node:http2 creates the session synchronously inside emit('connection'): bind the facts to it.
  server.on('session', (session) => {
    if (pending) facts.set(session, pending);
    session.setTimeout(idleMs, () => session.close());
  });
  server.on('request', onRequest);
  server.on('sessionError', () => undefined);
  const hand = (socket: Duplex, value: ConnectionFacts) => {
    // node:http2 leaves Nagle on (node:http turns it off): small frames would wait for ACKs.
    (socket as Partial<Socket>).setNoDelay?.(true);
    pending = value;
    try {
      server.emit('connection', socket);
    } finally {
      pending = undefined;
    }
  };
  return {
    server,
    accept: hand,
    // The bytes read to find the preface go back into the socket: a new session feeds what the
    // socket holds to nghttp2 before it reads the handle itself (no JavaScript stream between
    // them, which had carried every byte of a gRPC connection through JavaScript).
    acceptPrefaced: (socket, first, value) => {
      socket.unshift(first);
      hand(socket, { ...value, remoteAddress: value.remoteAddress ?? socket.remoteAddress });
    },
  };
}

/** Whether bytes that start a connection are (or may still become) the HTTP/2 preface. */
export function prefaceState(first: Buffer): 'h2' | 'http1' | 'more' {
  const n = Math.min(first.length, H2_PREFACE.length);
  if (!first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return 'http1';
  return first.length >= H2_PREFACE.length ? 'h2' : 'more';
}
