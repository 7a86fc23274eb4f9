/**
 * The admin servers. The full one (loopback: /config and /stats show the config in force and
 * the endpoints) and the health one, reachable from outside the pod for the kubelet's probes
 * and Prometheus, which serves /ready, /live, /metrics and the application's TCP probes
 * (app-probe.ts) and nothing else.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { TCP_PROBE_PREFIX } from '../lib/ports.ts';
import type { SkiffProxy } from './proxy.ts';

export type AdminScope = 'full' | 'health';

export async function createAdmin(proxy: SkiffProxy, scope: AdminScope): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true, connectionTimeout: 30_000, requestTimeout: 10_000, bodyLimit: 1024 });
  app.get('/live', async () => ({ live: true }));
  app.get<{ Params: { port: string } }>(`${TCP_PROBE_PREFIX}:port`, async (request, reply) => {
    const result = /^[0-9]{1,5}$/.test(request.params.port) ? await proxy.appPorts.check(Number(request.params.port)) : 'not-probed';
    return reply.code(result === 'open' ? 200 : result === 'not-probed' ? 404 : 503).send({ port: request.params.port, result });
  });
  app.get('/ready', async (_request, reply) => {
    const problems = proxy.readinessProblems();
    return reply.code(problems.length === 0 ? 200 : 503).send({ ready: problems.length === 0, problems });
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await proxy.telemetry.registry.metrics();
    return reply.type(proxy.telemetry.registry.contentType).send(text);
  });
  if (scope === 'full') {
    app.get('/config', async () => proxy.configReport());
    app.get('/stats', async () => proxy.stats());
  }
  await app.ready();
  return app;
}
