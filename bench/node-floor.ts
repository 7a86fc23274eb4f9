/**
 * bench/node-floor: the least a Node.js HTTP proxy can do, for bench/proxy's "Node floor" row.
 * node:http in front, an undici Pool behind (its dispatch API, as Skiff's forward uses),
 * headers copied without the hop-by-hop ones, the body streamed both ways; no routing, no
 * policy, no telemetry, no TLS. What Skiff's sidecar costs beyond this row is Skiff's; what
 * this row costs is Node's.
 *
 * With `--fastify` the requests go through Fastify first, routed the way Skiff's listeners
 * route them (one wildcard route, no body parsing, the reply hijacked): what the framework
 * costs on its own.
 *
 * With `--h2` it speaks HTTP/2 without TLS on both sides (h2c, as gRPC reaches a plain hop):
 * node:http2's compatibility API in front, undici's HTTP/2 behind, trailers relayed: the floor
 * of bench/proxy's gRPC rows.
 *
 * With `--tls-in DIR` it listens in TLS 1.3 and requires a client certificate signed by
 * DIR/ca.pem (its own DIR/cert.pem, DIR/key.pem); with `--tls-out DIR` it reaches the upstream
 * in TLS 1.3 with that certificate. Two of them make the floor of Skiff's mTLS pair: the same
 * handshake, certificates (ECDSA P-256), protocol (HTTP/1.1 in TLS 1.3) and pooling, nothing else.
 *
 *   node bench/node-floor.ts LISTEN_HOST:PORT UPSTREAM_HOST:PORT [--fastify | --h2] [--tls-in DIR] [--tls-out DIR]
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import { createServer as createTlsServer } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';

const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { fastify: { type: 'boolean' }, h2: { type: 'boolean' }, 'tls-in': { type: 'string' }, 'tls-out': { type: 'string' } } });
const [listen = '127.0.0.1:8080', upstream = '127.0.0.1:8081'] = positionals;
const material = (dir: string) => ({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')), ca: readFileSync(join(dir, 'ca.pem')), minVersion: 'TLSv1.3' as const });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
const tlsOut = flags['tls-out'];
// h2c needs useH2c twice: the connector's (not in its types) and the client's.
const pool = tlsOut
  ? new Pool(`https://${upstream}`, { connections: 128, connect: { ...material(tlsOut), servername: 'localhost', rejectUnauthorized: true, checkServerIdentity: () => undefined } })
  : new Pool(`http://${upstream}`, flags.h2 ? { connections: 4, allowH2: true, h2Options: { useH2c: true }, connect: { useH2c: true } as Pool.Options['connect'] } : { connections: 128 });

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name) && !name.startsWith(':')) out[name] = value;
  return out;
}

/** undici's dispatch handler, writing the answer straight to the client (as Skiff's forward does). */
function relay(res: ServerResponse): Dispatcher.DispatchHandler {
  return {
    onRequestStart: () => {},
    onResponseStart: (_controller, statusCode, headers) => {
      res.writeHead(statusCode, endToEnd(headers));
    },
    onResponseData: (_controller, chunk) => {
      res.write(chunk);
    },
    onResponseEnd: (_controller, trailers) => {
      if (Object.keys(trailers).length > 0) res.addTrailers(trailers as Record<string, string>);
      res.end();
    },
    onResponseError: () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    },
  };
}

function proxy(req: IncomingMessage, res: ServerResponse): void {
  const bodyless = req.method === 'GET' || req.method === 'HEAD';
  // gRPC over HTTP/2 needs `te: trailers` end to end (a hop-by-hop header otherwise).
  const headers = flags.h2 ? { ...endToEnd(req.headers), te: 'trailers' } : endToEnd(req.headers);
  pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.url ?? '/', headers, body: bodyless ? null : req }, relay(res));
}

const colon = listen.lastIndexOf(':');
const [host, port] = [listen.slice(0, colon), Number(listen.slice(colon + 1))];
const tlsIn = flags['tls-in'];
if (tlsIn) {
  createTlsServer({ ...material(tlsIn), requestCert: true, rejectUnauthorized: true }, proxy).listen(port, host);
} else if (flags.h2) {
  // node:http2's compatibility request and response offer what proxy() and relay() use of node:http's.
  createH2Server((req, res) => proxy(req as unknown as IncomingMessage, res as unknown as ServerResponse)).listen(port, host);
} else if (flags.fastify) {
  // Loaded only here, so the plain floor's start is Node, node:http and undici alone.
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '/*', handler: (request, reply) => {
    reply.hijack();
    proxy(request.raw, reply.raw);
  } });
  await app.listen({ host, port });
} else {
  createServer(proxy).listen(port, host);
}
// Exit cleanly on Ctrl-C / SIGTERM (so --cpu-prof writes its profile).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
