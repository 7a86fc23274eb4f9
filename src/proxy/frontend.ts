/**
 * The HTTP front of a listener: a Fastify instance on a Node http.Server whose connections
 * we hand it ourselves (plain sockets, or TLS sockets after we looked at their first bytes).
 * One catch-all route takes over the raw request and response, leaving bodies unparsed so
 * they stream through. Node's strict parser (llhttp) rejects malformed and ambiguous
 * requests (conflicting Content-Length/Transfer-Encoding, oversized headers) with 400 or 431
 * and closes the connection.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { sendGenerated } from './generated.ts';

export const AUTHORITY = Symbol('skiff.authority');
export type ProxiedRequest = IncomingMessage & { [AUTHORITY]?: string };

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'];

export interface Frontend {
  app: FastifyInstance;
  server: http.Server;
}

/** `http://host:port/path?q` (absolute-form, as sent to an HTTP proxy) → authority and path. */
export function splitAbsoluteForm(url: string): { authority: string; path: string } | undefined {
  if (url.startsWith('/')) return undefined;
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  const slash = url.indexOf('/', scheme + 3);
  const query = url.indexOf('?', scheme + 3);
  const end = slash < 0 ? (query < 0 ? url.length : query) : query >= 0 && query < slash ? query : slash;
  const authority = url.slice(scheme + 3, end).replace(/^[^@]*@/, '');
  const rest = url.slice(end);
  return { authority, path: rest.startsWith('/') ? rest : `/${rest}` };
}

export async function createFrontend(handle: (req: ProxiedRequest, res: ServerResponse) => void): Promise<Frontend> {
  const server = http.createServer({ maxHeaderSize: 16 * 1024, insecureHTTPParser: false, requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 });
  const app = Fastify({
    serverFactory: (handler) => {
      server.on('request', handler);
      return server;
    },
    logger: false,
    return503OnClosing: false,
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
    sendGenerated(reply.raw, 405, 'bad-request', `method ${request.raw.method ?? ''} is not proxied`);
  });
  await app.ready();
  return { app, server };
}
