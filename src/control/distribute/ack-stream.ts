/**
 * POST /v1/ack-stream?proxy=<ns/pod>: a proxy's acks as one long-lived HTTP/2 request, one
 * `Ack` JSON per line (application/x-ndjson), on the connection that carries its config stream.
 *
 * A request per ack (POST /v1/ack) costs the control plane about 0.1 ms of CPU (TLS record,
 * HTTP/2 frames, routing, a response), the largest part of a mesh-wide change at 1,000 proxies
 * and seconds of CPU at 50,000. On the stream an ack is one DATA frame, a JSON.parse and the
 * check of its schema. The stream's identity is checked once when it opens (the connection's
 * certificate must be the proxy's), and every line must name that proxy.
 *
 * Bounds: HTTP/2 only (an HTTP/1.1 request body is cut by the request timeout), at most
 * MAX_ACK_STREAMS_PER_PROXY open per proxy, lines of at most ACK_LINE_LIMIT bytes. A line that
 * is too long, not JSON, not an Ack or for another proxy ends the stream with one
 * `{"error": ...}` line in the response; the acks before it count. The proxy then falls back to
 * POST /v1/ack.
 */
import http2 from 'node:http2';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Ajv } from 'ajv';
import { ACK_STREAM_CONTENT_TYPE, ACK_STREAM_PATH, AckSchema, type Ack } from '../../config/index.ts';
import { firstProblem } from '../../config/schema.ts';
import type { MeshController, ProxyRecord } from '../controller.ts';

/** An ack is under 5 KB (an error message is at most 4,096 characters). */
export const ACK_LINE_LIMIT = 8 * 1024;
const MAX_ACK_STREAMS_PER_PROXY = 2;
const validateAck = new Ajv().compile<Ack>(AckSchema);

export interface AckStreamOptions {
  controller: MeshController;
  /** The proxy's record when the caller proves its identity; else the refusal is already sent. */
  ownRecord: (request: FastifyRequest, reply: FastifyReply, proxy: string) => ProxyRecord | undefined;
}

/** Whether text takes more than ACK_LINE_LIMIT bytes in UTF-8 (counted only when it could: a UTF-16 unit is at most 3 bytes). */
function overLimit(text: string): boolean {
  return text.length > ACK_LINE_LIMIT || (text.length * 3 > ACK_LINE_LIMIT && Buffer.byteLength(text) > ACK_LINE_LIMIT);
}

/** Takes every whole line of `text` that is an ack of `proxy`; returns the unfinished rest, or the problem of the first line that is not. */
export function takeAckLines(text: string, proxy: string, take: (ack: { hash?: string; error?: string }) => void): { rest: string; problem?: string } {
  let start = 0;
  for (let end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
    const line = text.slice(start, end).trim();
    if (line === '') continue;
    if (overLimit(line)) return { rest: '', problem: `a line is longer than ${ACK_LINE_LIMIT} bytes` };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { rest: '', problem: 'a line is not JSON' };
    }
    if (!validateAck(value)) return { rest: '', problem: `a line is not an ack: ${firstProblem(validateAck.errors)}` };
    if (value.proxy !== proxy) return { rest: '', problem: `an ack for ${value.proxy} on the stream of ${proxy}` };
    const { hash, error } = value;
    take({ ...(hash ? { hash } : {}), ...(error ? { error } : {}) });
  }
  const rest = text.slice(start);
  return overLimit(rest) ? { rest: '', problem: `a line is longer than ${ACK_LINE_LIMIT} bytes` } : { rest };
}

export function registerAckStream(app: FastifyInstance, options: AckStreamOptions): void {
  const open = new Map<string, number>();
  // The body is read here, line by line, as it arrives: the parser hands the stream over unread.
  app.addContentTypeParser(ACK_STREAM_CONTENT_TYPE, (_request, payload, done) => done(null, payload));

  app.post<{ Querystring: { proxy?: string } }>(ACK_STREAM_PATH, (request, reply) => {
    const proxy = request.query.proxy ?? '';
    if (request.raw.httpVersionMajor !== 2) return reply.code(400).send({ error: 'the ack stream needs HTTP/2; over HTTP/1.1 use POST /v1/ack' });
    if (request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== ACK_STREAM_CONTENT_TYPE) return reply.code(415).send({ error: `the ack stream is ${ACK_STREAM_CONTENT_TYPE}` });
    const record = options.ownRecord(request, reply, proxy);
    if (!record) return reply;
    if ((open.get(proxy) ?? 0) >= MAX_ACK_STREAMS_PER_PROXY) return reply.code(429).send({ error: `${proxy} already has ${MAX_ACK_STREAMS_PER_PROXY} ack streams` });
    open.set(proxy, (open.get(proxy) ?? 0) + 1);
    reply.hijack();
    const raw = request.raw as unknown as { setTimeout(ms: number): void; stream: http2.Http2Stream };
    raw.setTimeout(0);
    const stream = raw.stream;
    const res = reply.raw;
    res.writeHead(200, { 'content-type': ACK_STREAM_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.flushHeaders();
    const body = request.body as NodeJS.ReadableStream & { destroy(): void };
    body.setEncoding('utf8');
    let pending = '';
    let closed = false;
    const close = (problem?: string) => {
      if (closed) return;
      closed = true;
      const left = (open.get(proxy) ?? 1) - 1;
      if (left > 0) open.set(proxy, left);
      else open.delete(proxy);
      body.removeAllListeners('data');
      if (!problem) return void res.end();
      // The answer says why, then the stream is reset: nothing more the proxy sends is read.
      res.end(`${JSON.stringify({ error: `ack stream of ${proxy} ended: ${problem}` })}\n`, () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
    };
    body.on('data', (chunk: string) => {
      const taken = takeAckLines(pending + chunk, proxy, (ack) => options.controller.acknowledge(proxy, ack));
      pending = taken.rest;
      if (taken.problem) close(taken.problem);
    });
    body.on('end', () => close(pending.trim() === '' ? undefined : 'the last line has no end'));
    body.on('error', () => close());
    res.on('close', () => close());
  });
}
