/**
 * Traffic reports in, on the config server (mTLS): each proxy posts its own traffic only
 * (the certificate must be the proxy's identity), at most 1 MiB and REPORTS_PER_SLOT posts
 * per slot. Another controller replica (the controller's own identity, nobody else) may ask
 * for this replica's part of a TrafficMetrics answer (control/traffic/replicas.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checker } from '../../config/checker.ts';
import { TrafficReportSchema, type ErrorBody } from '../../config/index.ts';
import type { MeshController } from '../controller.ts';
import { Type } from 'typebox';
import type { LocalTraffic } from '../traffic/backend.ts';
import { RESOURCE_KINDS } from '../traffic/kinds.ts';
import { MAX_WINDOW_MS, MIN_WINDOW_MS } from '../traffic/request.ts';
import { SLOT_MS, type Reporter, type TrafficStore } from '../traffic/store.ts';

const REPORT_BODY_LIMIT = 1024 * 1024;
const REPORTS_PER_SLOT = 20;

export interface TrafficIntakeOptions {
  controller: MeshController;
  store: TrafficStore;
  peerIdentity(request: FastifyRequest): string | undefined;
  /** The control plane's own identity: the only caller allowed to ask for a partial answer. */
  controlIdentity: string;
  /** This replica's part of an answer; absent: not offered. */
  local?: LocalTraffic;
}

const plural = Type.Union(Object.keys(RESOURCE_KINDS).map((k) => Type.Literal(k)));
const checkQuery = checker(Type.Object({
  resource: plural, namespace: Type.Optional(Type.String({ maxLength: 253 })), name: Type.Optional(Type.String({ maxLength: 253 })),
  edges: Type.Boolean(), edgeKind: Type.Optional(plural), windowMs: Type.Integer({ minimum: MIN_WINDOW_MS, maximum: MAX_WINDOW_MS }),
}, { additionalProperties: false }));

const checkReport = checker(TrafficReportSchema);

export function registerTrafficIntake(app: FastifyInstance, o: TrafficIntakeOptions): void {
  /** One Reporter object per pod and workload, shared by all its stored series. */
  const reporters = new Map<string, Reporter>();
  const recent = new Map<string, { slot: number; count: number }>();
  app.post('/v1/traffic', { bodyLimit: REPORT_BODY_LIMIT }, async (request, reply) => {
    // Checked strictly (no type coercion, unknown fields refused), unlike Fastify's lenient default.
    const checked = checkReport(request.body);
    if (!checked.ok) return reply.code(400).send({ error: `the report is not valid: ${checked.problem}` } satisfies ErrorBody);
    const { proxy, series } = checked.value;
    // A pod that just finished (its sidecar's last report) is still known for a minute.
    const record = o.controller.known(proxy);
    if (!record) return reply.code(404).send({ error: `no meshed pod ${proxy} in the current topology` } satisfies ErrorBody);
    if (o.peerIdentity(request) !== record.identity) return reply.code(403).send({ error: `only ${proxy} itself may report its traffic` } satisfies ErrorBody);
    const slot = Math.floor(Date.now() / SLOT_MS);
    const seen = recent.get(proxy);
    if (seen?.slot === slot && seen.count >= REPORTS_PER_SLOT) return reply.code(429).send({ error: `at most ${REPORTS_PER_SLOT} reports per ${SLOT_MS / 1000}s` } satisfies ErrorBody);
    recent.set(proxy, { slot, count: seen?.slot === slot ? seen.count + 1 : 1 });
    if (recent.size > o.controller.proxies.size * 2 + 100) for (const id of recent.keys()) if (!o.controller.proxies.has(id)) recent.delete(id);
    const me = record.proxy;
    const key = `${proxy}/${me.workload.kind}/${me.workload.name}`;
    let reporter = reporters.get(key);
    if (!reporter) {
      reporter = { namespace: me.namespace, pod: me.pod, kind: me.workload.kind, name: me.workload.name };
      if (reporters.size > 100_000) reporters.clear();
      reporters.set(key, reporter);
    }
    const result = o.store.ingest(reporter, series);
    return { ok: true, ...result };
  });

  app.post('/v1/traffic/partial', { bodyLimit: 4096 }, async (request, reply) => {
    if (o.peerIdentity(request) !== o.controlIdentity) return reply.code(403).send({ error: 'only another control plane replica may ask for traffic' } satisfies ErrorBody);
    const checked = checkQuery(request.body);
    if (!checked.ok || !o.local) return reply.code(400).send({ error: checked.ok ? 'this replica keeps no traffic' : `the query is not valid: ${checked.problem}` } satisfies ErrorBody);
    return o.local.partial(checked.value as Parameters<LocalTraffic['partial']>[0]);
  });
}
