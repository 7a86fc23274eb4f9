/**
 * Attacker's side of the dashboard (local mode's status port; `skiff dashboard`'s listener):
 * a web page reaching it by DNS rebinding (a foreign Host), paths out of the page's files,
 * writes, too many event streams, a subscriber that never reads, oversized headers. The
 * server keeps serving the legitimate page throughout.
 */
import { equal, ok } from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { DashboardSource } from '../../src/dashboard/collect.ts';
import { dashboardFiles } from '../../src/dashboard/assets.ts';
import { MAX_SUBSCRIBERS, registerDashboard } from '../../src/dashboard/server.ts';
import { waitFor } from '../support/wait.ts';
import { rawProbe } from './support.ts';

/** A control plane with many problems: each view is ~300 KB, so an unread stream fills fast. */
const source: DashboardSource = {
  state: async () => ({ topology: null, proxies: [], statuses: [], problems: Array.from({ length: 3000 }, (_, i) => `TrafficSplit/shop/split-${i} spec.backends[0].weight: must be >= 0 [SKIFF_E_SCHEMA] ${'x'.repeat(40)}`) }),
  metrics: async () => null,
};

describe('the dashboard under attack', () => {
  let app: FastifyInstance;
  let dashboard: ReturnType<typeof registerDashboard>;
  let port: number;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => request(`http://127.0.0.1:${port}${path}`, { method: method as 'GET', headers }).then(async (r) => ({ status: r.statusCode, headers: r.headers, body: await r.body.text() }));

  before(async () => {
    app = Fastify({ logger: false, forceCloseConnections: true });
    dashboard = registerDashboard(app, { source, files: await dashboardFiles() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    dashboard.close();
    await app.close();
  });

  test('the page loads nothing from elsewhere and cannot be framed', async () => {
    const page = await get('/dashboard/');
    equal(page.status, 200);
    ok(/<div id="graph"/.test(page.body));
    const csp = String(page.headers['content-security-policy']);
    ok(csp.includes("default-src 'none'") && csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"), csp);
    equal(page.headers['x-content-type-options'], 'nosniff');
    const links = [...page.body.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '');
    ok(links.length >= 2 && links.every((l) => l.startsWith('/dashboard/') || l.startsWith('#')), `the page's own files only: ${links.join(' ')}`);
  });

  test('DNS rebinding: a request naming a foreign host is refused on every path', async () => {
    for (const host of ['evil.example', 'evil.example:15020', '127.0.0.1.evil.example', 'localhost.evil.example', '']) {
      for (const path of ['/dashboard/', '/dashboard/app.js', '/dashboard/api/view', '/dashboard/api/events']) {
        const r = await rawProbe('127.0.0.1', port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 2000);
        ok(/^HTTP\/1\.1 (403|400)/.test(r.text), `${host} ${path}: ${r.text.slice(0, 60)}`);
        ok(!r.text.includes('SKIFF_E_SCHEMA'), 'no data leaks with the refusal');
      }
    }
    equal((await get('/dashboard/api/view', { host: `localhost:${port}` })).status, 200);
    equal((await get('/dashboard/api/view', { host: `[::1]:${port}` })).status, 200);
  });

  test('only the page\'s own files, only GET', async () => {
    for (const path of ['/dashboard/..%2f..%2fpackage.json', '/dashboard/%2e%2e%2fsrc%2fdashboard%2fserver.ts', '/dashboard/app.js%00.html', '/dashboard/server.ts', '/dashboard/.env']) {
      equal((await get(path)).status, 404, path);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await get('/dashboard/api/view', { 'content-type': 'application/json' }, method);
      ok([400, 404, 405].includes(r.status) && !r.body.includes('SKIFF_E_SCHEMA'), `${method}: ${r.status}`);
    }
  });

  test('oversized headers are refused and the server keeps serving', async () => {
    const r = await rawProbe('127.0.0.1', port, `GET /dashboard/api/view HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, 3000);
    ok(/^HTTP\/1\.1 431/.test(r.text) || r.closed, r.text.slice(0, 60));
    equal((await get('/dashboard/api/view')).status, 200);
  });

  test(`at most ${MAX_SUBSCRIBERS} event streams; a stream that never reads is dropped, and others still get in`, async () => {
    const sockets: net.Socket[] = [];
    const open = () => new Promise<net.Socket>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.write('GET /dashboard/api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        s.pause();
        resolve(s);
      });
      s.on('error', () => undefined);
      sockets.push(s);
    });
    try {
      for (let i = 0; i < MAX_SUBSCRIBERS; i++) await open();
      await waitFor('every stream subscribed', () => dashboard.subscribers() === MAX_SUBSCRIBERS, 5000);
      const refused = await get('/dashboard/api/events');
      equal(refused.status, 503);
      // None of them reads: the server stops buffering for them instead of growing without end.
      await waitFor('the unread streams dropped', () => dashboard.subscribers() === 0, 60_000, 200);
      const rss = process.memoryUsage().rss;
      ok(rss < 1024 * 1024 * 1024, `rss ${rss}`);
      const again = await rawProbe('127.0.0.1', port, 'GET /dashboard/api/events HTTP/1.1\r\nHost: localhost\r\n\r\n', 3000);
      ok(/^HTTP\/1\.1 200/.test(again.text) && again.text.includes('text/event-stream') && again.text.includes('data: {'), again.text.slice(0, 200));
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
