/**
 * The dashboard on a Fastify app (local mode's status port, or `skiff dashboard`'s loopback
 * listener): the page under /dashboard/, the view as JSON (/dashboard/api/view) and as a
 * server-sent event stream, one view a second (/dashboard/api/events). Read-only: GETs only.
 *
 * The listener is loopback, so the one way in from elsewhere is a web page the user opened
 * that points a name it controls at 127.0.0.1 (DNS rebinding): requests must name a loopback
 * host. The page loads nothing from elsewhere (Content-Security-Policy).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectView, type DashboardSource } from './collect.ts';
import { DASHBOARD_FILES, type DashboardFile } from './assets.ts';
import type { DashboardView } from './view-types.ts';

export const MAX_SUBSCRIBERS = 32;
/** A subscriber that stopped reading is dropped once this much waits for it (one view is ~10 KB for a small mesh). */
export const MAX_UNREAD_BYTES = 1024 * 1024;
const TICK_MS = 1000;
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface DashboardOptions {
  source: DashboardSource;
  /** The page's files, or why there is no page (the API still answers). */
  files: Map<DashboardFile, Buffer> | { problem: string };
  /** The traffic window shown (TrafficMetrics `t=`); default DASHBOARD_WINDOW. */
  window?: string;
  log?: (line: string) => void;
}

export function registerDashboard(app: FastifyInstance, options: DashboardOptions): { close(): void; subscribers(): number } {
  const subscribers = new Set<FastifyReply>();
  let timer: NodeJS.Timeout | undefined;
  let latest: DashboardView | undefined;

  const view = async (): Promise<DashboardView> => {
    latest = await collectView(options.source, options.window);
    return latest;
  };
  /** One loop while anyone listens: a view a second to every subscriber. */
  let looping = false;
  const loop = async () => {
    looping = true;
    while (subscribers.size > 0) {
      let data: string;
      try {
        data = `data: ${JSON.stringify(await view())}\n\n`;
      } catch (err) {
        data = `event: problem\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`;
      }
      for (const reply of subscribers) {
        if (reply.raw.writableLength > MAX_UNREAD_BYTES) {
          subscribers.delete(reply);
          reply.raw.destroy();
          options.log?.('dashboard: dropped a subscriber that stopped reading');
        } else reply.raw.write(data);
      }
      await new Promise((r) => { timer = setTimeout(r, TICK_MS); });
    }
    looping = false;
  };

  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!LOOPBACK_HOST.test(request.headers.host ?? '')) return reply.code(403).headers(SECURITY_HEADERS).send({ error: 'the dashboard answers only requests addressed to a loopback host' });
  };

  app.register(async (scope) => {
    scope.addHook('onRequest', guard);
    scope.get('/dashboard', async (_request, reply) => reply.redirect('/dashboard/'));
    const page = async (name: string, reply: FastifyReply) => {
      if (!Object.hasOwn(DASHBOARD_FILES, name)) return reply.code(404).headers(SECURITY_HEADERS).send({ error: 'no such file' });
      if (!(options.files instanceof Map)) return reply.code(503).headers(SECURITY_HEADERS).type('text/plain; charset=utf-8').send(`The dashboard page is not available: ${options.files.problem}. /dashboard/api/view still answers.`);
      return reply.headers(SECURITY_HEADERS).type(DASHBOARD_FILES[name as DashboardFile]).send(options.files.get(name as DashboardFile));
    };
    scope.get('/dashboard/', async (_request, reply) => page('index.html', reply));
    scope.get<{ Params: { file: string } }>('/dashboard/:file', async (request, reply) => page(request.params.file, reply));
    scope.get('/dashboard/api/view', async (_request, reply) => reply.headers(SECURITY_HEADERS).send(await view()));
    scope.get('/dashboard/api/events', async (request, reply) => {
      if (subscribers.size >= MAX_SUBSCRIBERS) return reply.code(503).headers(SECURITY_HEADERS).send({ error: `at most ${MAX_SUBSCRIBERS} dashboards at a time` });
      reply.hijack();
      reply.raw.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      reply.raw.write(`retry: 2000\n\n`);
      if (latest) reply.raw.write(`data: ${JSON.stringify(latest)}\n\n`);
      subscribers.add(reply);
      request.raw.on('close', () => subscribers.delete(reply));
      if (!looping) void loop();
    });
  });

  return {
    subscribers: () => subscribers.size,
    close() {
      for (const reply of subscribers) reply.raw.end();
      subscribers.clear();
      if (timer) clearTimeout(timer);
    },
  };
}
