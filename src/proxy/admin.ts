/** The admin server (loopback by default): health, metrics, the config in force, and stats. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { SkiffProxy } from './proxy.ts';

export async function createAdmin(proxy: SkiffProxy): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.get('/live', async () => ({ live: true }));
  app.get('/ready', async (_request, reply) => {
    const problems = proxy.readinessProblems();
    return reply.code(problems.length === 0 ? 200 : 503).send({ ready: problems.length === 0, problems });
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await proxy.telemetry.registry.metrics();
    return reply.type(proxy.telemetry.registry.contentType).send(text);
  });
  app.get('/config', async () => proxy.configReport());
  app.get('/stats', async () => proxy.stats());
  await app.ready();
  return app;
}
