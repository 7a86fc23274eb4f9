/**
 * undici's HTTP/2 client loses a response body still buffered when the trailers arrive
 * (h2-trailers.ts). Against a real HTTP/2 server over TLS: gRPC-shaped answers (headers, one
 * message, trailers) read by a handler that pauses as a proxy does under backpressure; with
 * the workaround every body arrives.
 */
import { equal } from 'node:assert/strict';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Client } from 'undici';
import { makeLeaf, makeRoot } from '../../test/support/pki.ts';
import { installH2TrailersWorkaround } from './h2-trailers.ts';

test('an HTTP/2 answer paused before its body keeps its body when the trailers arrive', async () => {
  installH2TrailersWorkaround();
  const leaf = makeLeaf({ uris: ['spiffe://test/server'], issuer: makeRoot('h2 test') });
  const server = createSecureServer({ key: leaf.keyPem, cert: leaf.certPem });
  const message = Buffer.from('\u0000\u0000\u0000\u0000\u0005hello', 'latin1');
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(message);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new Client(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, { allowH2: true, connect: { rejectUnauthorized: false } });
  let complete = 0;
  let empty = 0;
  let trailersSeen = 0;
  const one = () => new Promise<void>((resolve, reject) => {
    let bytes = 0;
    client.dispatch({ path: '/ping.Ping/Call', method: 'POST', headers: { 'content-type': 'application/grpc' }, body: message }, {
      onRequestStart() {},
      onResponseStart(controller) {
        // What a proxy does when the client it answers cannot take more yet.
        controller.pause();
        setTimeout(() => controller.resume(), 1);
      },
      onResponseData(_controller, chunk) { bytes += chunk.length; },
      onResponseEnd(_controller, trailers) {
        if (trailers['grpc-status'] === '0') trailersSeen++;
        if (bytes === message.length) complete++;
        else empty++;
        resolve();
      },
      onResponseError(_controller, err) { reject(err); },
    });
  });
  try {
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 100 }, one));
  } finally {
    await client.close();
    server.close();
  }
  equal(empty, 0, `${empty} of 1000 answers lost their message`);
  equal(complete, 1000);
  equal(trailersSeen, 1000, 'and every answer still has its trailers');
});
