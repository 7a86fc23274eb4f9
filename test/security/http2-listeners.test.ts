/**
 * Attacker's side of HTTP/2 on the sidecar's listeners: h2c without identity in a strict
 * namespace, a forged or half-sent preface, one sent a byte at a time, oversized header lists, more streams than allowed,
 * a burst of opened-and-reset streams, and CONNECT. After each, the proxy still serves.
 * Real sidecars, real node:http2 clients, raw sockets.
 */
import { equal, ok } from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { meshYaml, MESH_PORT, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';
import { rawProbe } from './support.ts';

const api = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n`;
const LIMITS = { firstByteMs: 600, handshakeMs: 600, headersMs: 800, idleMs: 3000, keepAliveMs: 3000, maxConnections: 20 };

/** One HTTP/2 request on a fresh h2c connection; resolves with the response headers, or the error. */
function h2Request(url: string, headers: http2.OutgoingHttpHeaders): Promise<{ headers?: http2.IncomingHttpHeaders; trailers?: http2.IncomingHttpHeaders; error?: string }> {
  return new Promise((resolve) => {
    const session = http2.connect(url);
    const done = (value: { headers?: http2.IncomingHttpHeaders; trailers?: http2.IncomingHttpHeaders; error?: string }) => {
      session.destroy();
      resolve(value);
    };
    session.on('error', (err) => done({ error: err.message }));
    const stream = session.request(headers, { endStream: true });
    let got: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    stream.on('response', (h) => { got = h; });
    stream.on('trailers', (t) => { trailers = t; });
    stream.on('error', (err) => done({ error: err.message }));
    stream.on('close', () => done({ ...(got ? { headers: got } : { error: `stream closed (code ${stream.rstCode})` }), ...(trailers ? { trailers } : {}) }));
    stream.resume();
    setTimeout(() => done({ error: 'no answer in 3 s' }), 3000).unref();
  });
}

describe('HTTP/2 on the listeners, under attack', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'strict', [{ name: 'api', ports: [8080] }, { name: 'client' }], api), { limits: LIMITS });
  });
  after(async () => mesh?.close());
  const inbound = () => `http://${mesh.pod('api').ip}:${MESH_PORT}`;
  const outbound = () => `http://${mesh.pod('client').ip}:${OUTBOUND_PORT}`;
  /** The proxy still answers a plain HTTP/2 request after an attack: a 403 from the strict inbound. */
  const stillServes = async () => {
    const res = await h2Request(inbound(), { ':path': '/books/1', ':authority': 'api.shop:8080' });
    equal(res.headers?.[':status'], 403, JSON.stringify(res));
  };

  test('h2c with prior knowledge and no mesh identity is refused in a strict namespace, as HTTP/1.1 is: 403, and UNAUTHENTICATED for gRPC', async () => {
    const plain = await h2Request(inbound(), { ':path': '/books/1', ':authority': 'api.shop:8080' });
    equal(plain.headers?.[':status'], 403);
    equal(plain.headers?.['x-skiff-reason'], 'unauthenticated');
    const grpc = await h2Request(inbound(), { ':method': 'POST', ':path': '/shop.Api/Get', ':authority': 'api.shop:8080', 'content-type': 'application/grpc' });
    equal(grpc.headers?.[':status'], 200);
    equal(grpc.trailers?.['grpc-status'], '16');
  });

  test('HTTP/2 CONNECT is refused on both listeners: the sidecar is no tunnel', async () => {
    for (const url of [inbound(), outbound()]) {
      const res = await h2Request(url, { ':method': 'CONNECT', ':authority': 'api.shop:80' });
      ok(res.error !== undefined || Number(res.headers?.[':status']) === 405, `${url}: ${JSON.stringify(res)}`);
    }
    await stillServes();
  });

  test('a forged preface and a half-sent one are cut; the proxy keeps serving', async () => {
    for (const url of [[mesh.pod('api').ip, MESH_PORT], [mesh.pod('client').ip, OUTBOUND_PORT]] as const) {
      const forged = await rawProbe(url[0], url[1], 'PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00', 3000);
      ok(forged.closed, 'a broken preface closes the connection');
      const half = await rawProbe(url[0], url[1], 'PRI * HTTP/2', 3000);
      ok(half.closed && half.elapsedMs < 2500, `a preface that never completes is cut by the header timeout (${Math.round(half.elapsedMs)} ms)`);
    }
    await stillServes();
  });

  test('a preface that arrives a byte at a time (within the header bound) is HTTP/2: the bytes read to decide go to HTTP/2', async () => {
    // A relay that sends the first 24 bytes (the preface) one by one, 10 ms apart, then the rest as it comes.
    const target = mesh.pod('api');
    const relay = net.createServer((down) => {
      const up = net.connect(MESH_PORT, target.ip);
      up.on('error', () => down.destroy());
      down.on('error', () => up.destroy());
      up.pipe(down);
      let dripped = false;
      down.on('data', (chunk: Buffer) => {
        if (dripped) {
          up.write(chunk);
          return;
        }
        dripped = true;
        down.pause();
        let i = 0;
        const next = () => {
          if (i < 24 && i < chunk.length) {
            up.write(chunk.subarray(i, i + 1));
            i++;
            setTimeout(next, 10);
          } else {
            up.write(chunk.subarray(i));
            down.resume();
          }
        };
        next();
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const res = await h2Request(`http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`, { ':path': '/books/1', ':authority': 'api.shop:8080' });
      equal(res.headers?.[':status'], 403, JSON.stringify(res));
      equal(res.headers?.['x-skiff-reason'], 'unauthenticated', 'answered by the proxy over HTTP/2');
    } finally {
      relay.close();
    }
  });

  test('a header list over 16 KiB is refused without reaching the application', async () => {
    const app = mesh.pod('api').apps[0];
    const before = app?.received ?? 0;
    const res = await h2Request(outbound(), { ':path': '/books/1', ':authority': 'api.shop', 'x-big': 'a'.repeat(20_000) });
    ok(res.error !== undefined || Number(res.headers?.[':status']) >= 400, JSON.stringify(res).slice(0, 300));
    equal(app?.received, before);
    await stillServes();
  });

  test('the proxy advertises its stream limit (256 per connection), and a burst of 2,000 opened-and-reset streams leaves the proxy serving', async () => {
    const session = http2.connect(outbound());
    session.on('error', () => undefined);
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    equal(session.remoteSettings.maxConcurrentStreams, 256);
    for (let i = 0; i < 2000 && !session.destroyed; i++) {
      const stream = session.request({ ':path': `/books/${i}`, ':authority': 'api.shop' });
      stream.on('error', () => undefined);
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    await new Promise((r) => setTimeout(r, 300));
    session.destroy();
    await stillServes();
  });
});
