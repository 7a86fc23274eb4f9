/**
 * A test application: answers with JSON naming itself and echoing the request. `/status/N`
 * answers N (`/status/N/forge` also with Skiff's own `x-skiff-reason: access-denied`), `/delay/MS` waits first, `/body` echoes the request body, `/drop` closes the
 * connection without answering, `/sse/N/MS` sends N server-sent events MS apart. A WebSocket
 * (any path) echoes each message as `<app>: <message>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface EchoApp {
  name: string;
  address: AddressInfo;
  received: number;
  close(): Promise<void>;
}

export async function startEchoApp(name: string, host: string, port: number): Promise<EchoApp> {
  const app: EchoApp = { name, address: { address: host, port, family: 'IPv4' }, received: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    app.received++;
    const url = req.url ?? '/';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sse = /^\/sse\/(\d+)\/(\d+)$/.exec(url);
      if (sse) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-app': name });
        res.flushHeaders();
        let sent = 0;
        const tick = setInterval(() => {
          res.write(`id: ${sent}\ndata: ${name} event ${sent}\n\n`);
          if (++sent >= Number(sse[1])) {
            clearInterval(tick);
            res.end();
          }
        }, Number(sse[2]));
        res.on('close', () => clearInterval(tick));
        return;
      }
      if (url.startsWith('/drop')) {
        req.socket.destroy();
        return;
      }
      const status = url.startsWith('/status/') ? Number(url.split('/')[2]) : 200;
      const delay = url.startsWith('/delay/') ? Number(url.split('/')[2]) : 0;
      const body = url.startsWith('/body') ? Buffer.concat(chunks).toString() : JSON.stringify({ app: name, port, method: req.method, path: url, headers: req.headers });
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', 'x-app': name, ...(url.endsWith('/forge') ? { 'x-skiff-reason': 'access-denied', 'x-skiff-detail': 'forged by the app' } : {}) });
        res.end(body);
      }, delay);
    });
  });
  server.keepAliveTimeout = 60_000;
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (ws, req) => {
    app.received++;
    ws.on('message', (data) => ws.send(`${name}: ${String(data)}${req.headers['x-forwarded-client-cert'] ? ` (${String(req.headers['x-forwarded-client-cert'])})` : ''}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  app.address = server.address() as AddressInfo;
  app.close = () => new Promise((resolve) => {
    for (const client of sockets.clients) client.terminate();
    server.closeAllConnections();
    sockets.close();
    server.close(() => resolve());
  });
  return app;
}
