// Tiny helpers the demo apps share: serve on POD_IP:PORT, and call other services through the
// sidecar named by HTTP_PROXY (absolute-form requests, the way any HTTP client uses a proxy).
import http from 'node:http';

export const me = { ip: process.env.POD_IP ?? '0.0.0.0', port: Number(process.env.PORT ?? 8080), name: process.env.POD_NAME ?? 'app' };

export function serve(handler) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => handler(req, body, (status, value) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    }));
  });
  server.keepAliveTimeout = 30_000;
  server.listen(me.port, me.ip, () => console.log(`${me.name} listening on ${me.ip}:${me.port}`));
  return server;
}

const proxy = process.env.HTTP_PROXY ? new URL(process.env.HTTP_PROXY) : undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** `call('GET', 'http://bookstore.bookstore/books')` → { status, body, headers }. */
export function call(method, url, payload) {
  const target = new URL(url);
  return new Promise((resolve) => {
    const req = http.request({
      host: proxy ? proxy.hostname : target.hostname,
      port: proxy ? Number(proxy.port) : Number(target.port || 80),
      path: proxy ? url : `${target.pathname}${target.search}`,
      method, agent, headers: { host: target.host, 'content-type': 'application/json' }, timeout: 5000,
    }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message, headers: {} }));
    req.end(payload === undefined ? undefined : JSON.stringify(payload));
  });
}

export function every(ms, fn) {
  let running = false;
  setInterval(async () => {
    if (running) return;
    running = true;
    try { await fn(); } finally { running = false; }
  }, ms);
}
