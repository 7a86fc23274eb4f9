/**
 * Peers that stop reading, from the attacker's side: a client that asks for a large download
 * and never reads it, and an application that never reads a large upload. Neither may make a
 * sidecar buffer what the other side keeps sending: backpressure must reach the sender through
 * both sidecars (mTLS between them), for HTTP/1.1, HTTP/2 and a WebSocket. Measured by what the
 * sender manages to write while nobody reads (socket buffers and stream marks: a few MB),
 * against the 512 MB it offers. Without backpressure a sidecar would hold all of it, and under a
 * 128 MiB limit be killed.
 */
import { ok } from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';
import { meshYaml, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';

const H1 = 9191;
const H2 = 9192;
const OFFERED = 512 * 2 ** 20;
/** What may pile up between a sender and a reader that stopped: kernel socket buffers and stream marks on four hops. */
const BOUND = 32 * 2 ** 20;
const WAIT_MS = 1500;
const CHUNK = Buffer.alloc(64 * 1024, 120);
const service = (name: string, port: number) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - name: http\n    port: 80\n    targetPort: ${port}\n`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** Writes CHUNKs to `sink` while it accepts them, until OFFERED; returns the bytes written so far. */
function flood(sink: NodeJS.WritableStream): { written: () => number } {
  let written = 0;
  const pump = () => {
    while (written < OFFERED) {
      written += CHUNK.length;
      if (!sink.write(CHUNK)) {
        sink.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return { written: () => written };
}

describe('a peer that stops reading cannot make a sidecar buffer what the other side sends', () => {
  let mesh: TestMesh;
  const apps: { close(): void }[] = [];
  /** What each application wrote (downloads) or read (uploads), by path. */
  const appWrote = new Map<string, () => number>();
  let appRead = 0;
  /** One handler for the HTTP/1.1 and the HTTP/2 application (Node's compatibility API). */
  type Answer = NodeJS.WritableStream & { writeHead(status: number, headers: Record<string, string>): unknown };
  const serve = (req: http.IncomingMessage | http2.Http2ServerRequest, res: Answer) => {
    if (req.url?.startsWith('/download')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      appWrote.set(req.url, flood(res).written);
      return;
    }
    if (!req.url?.startsWith('/upload')) {
      res.end('ok');
      return;
    }
    // An upload nobody reads: the application takes the head and then nothing.
    req.pause();
    req.on('data', (chunk: Buffer) => {
      appRead += chunk.length;
    });
  };

  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'permissive', [{ name: 'bulk', ports: [H1] }, { name: 'grpcish', ports: [H2] }, { name: 'client' }], [service('bulk', H1), service('grpcish', H2)].join('---\n')), { ownApps: [H1, H2] });
    const h1 = http.createServer(serve);
    const ws = new WebSocketServer({ server: h1 });
    ws.on('connection', (socket, req) => {
      if (req.url !== '/ws/download') return;
      // ws queues what the socket does not take (bufferedAmount): send while that stays small.
      let sent = 0;
      const pump = () => {
        while (sent < OFFERED && socket.bufferedAmount < 2 ** 20) {
          socket.send(CHUNK);
          sent += CHUNK.length;
        }
        if (sent < OFFERED && socket.readyState === socket.OPEN) setTimeout(pump, 20);
      };
      pump();
      appWrote.set('/ws/download', () => sent);
    });
    const h2 = http2.createServer(serve);
    await new Promise<void>((resolve) => h1.listen(H1, mesh.pod('bulk').ip, resolve));
    await new Promise<void>((resolve) => h2.listen(H2, mesh.pod('grpcish').ip, resolve));
    apps.push({ close: () => (h1.closeAllConnections(), h1.close(), ws.close()) }, { close: () => h2.close() });
  });
  after(async () => {
    for (const app of apps) app.close();
    await mesh?.close();
  });

  test('HTTP/1.1: a download the client never reads stalls the application', async () => {
    const socket = net.connect({ host: mesh.pod('client').ip, port: OUTBOUND_PORT });
    socket.on('error', () => undefined);
    socket.pause();
    socket.write('GET /download/h1 HTTP/1.1\r\nhost: bulk.shop\r\n\r\n');
    try {
      await sleep(WAIT_MS);
      const wrote = appWrote.get('/download/h1')?.() ?? 0;
      ok(wrote > 0 && wrote < BOUND, `the application wrote ${mb(wrote)} of ${mb(OFFERED)} to a client reading nothing`);
    } finally {
      socket.destroy();
    }
  });

  test('HTTP/1.1: an upload the application never reads stalls the client', async () => {
    const before = appRead;
    const socket = net.connect({ host: mesh.pod('client').ip, port: OUTBOUND_PORT });
    socket.on('error', () => undefined);
    socket.write(`POST /upload HTTP/1.1\r\nhost: bulk.shop\r\ncontent-length: ${OFFERED}\r\n\r\n`);
    const sent = flood(socket);
    try {
      await sleep(WAIT_MS);
      ok(sent.written() < BOUND, `the client wrote ${mb(sent.written())} of ${mb(OFFERED)} to an application reading nothing`);
      ok(appRead === before, 'the application read nothing');
    } finally {
      socket.destroy();
    }
  });

  test('HTTP/2, both ways: flow control reaches the sender through both sidecars', async () => {
    const session = http2.connect(`http://${mesh.pod('client').ip}:${OUTBOUND_PORT}`);
    session.on('error', () => undefined);
    try {
      const download = session.request({ ':path': '/download/h2', ':authority': 'grpcish.shop' });
      download.on('error', () => undefined);
      download.pause();
      const upload = session.request({ ':path': '/upload', ':authority': 'grpcish.shop', ':method': 'POST' });
      upload.on('error', () => undefined);
      const sent = flood(upload);
      await sleep(WAIT_MS);
      const wrote = appWrote.get('/download/h2')?.() ?? 0;
      ok(wrote > 0 && wrote < BOUND, `the application wrote ${mb(wrote)} to a stream reading nothing`);
      ok(sent.written() < BOUND, `the client wrote ${mb(sent.written())} to an application reading nothing`);
    } finally {
      session.destroy();
    }
  });

  test('a WebSocket the client stops reading stalls the application', async () => {
    const ws = new WebSocket(`ws://${mesh.pod('client').ip}:${OUTBOUND_PORT}/ws/download`, { headers: { host: 'bulk.shop' } });
    ws.on('error', () => undefined);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.pause();
    try {
      await sleep(WAIT_MS);
      const wrote = appWrote.get('/ws/download')?.() ?? 0;
      ok(wrote > 0 && wrote < BOUND, `the application sent ${mb(wrote)} to a WebSocket reading nothing`);
    } finally {
      ws.terminate();
    }
  });

  test('the sidecars still serve afterwards', async () => {
    ok((await mesh.request('client', 'http://bulk.shop/')).status === 200);
  });
});
