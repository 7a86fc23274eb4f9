/**
 * The TrafficMetrics API as a Kubernetes aggregated API server (APIService
 * v1alpha1.metrics.smi-spec.io → the controller's Service, port PORTS.metricsApi).
 *
 * Who may ask, in two steps, each tested from the attacker's side:
 * 1. Authentication: only the API server's front proxy. The client certificate must chain to
 *    `requestheader-client-ca-file` of kube-system/extension-apiserver-authentication and its
 *    CN be one of `requestheader-allowed-names` (any CN when that list is empty, as Kubernetes
 *    does); only then are the user, groups and extras read from the request headers it names.
 *    Anything else is a 401 Status, the headers never looked at.
 * 2. Authorization: a SubjectAccessReview for that user with the attributes the API server
 *    derives from the path (group metrics.smi-spec.io, resource, `edges` subresource,
 *    namespace, name, verb get/list). Decisions are cached 10 s (at most 10 000).
 * The authentication ConfigMap is re-read every minute, so a rotated front-proxy CA is taken
 * without a restart.
 */
import { AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { registerTrafficMetrics, type TrafficMetricsBackend } from './api.ts';
import { METRICS_GROUP, METRICS_VERSION } from './kinds.ts';
import { status, type AccessAttributes, type Status } from './request.ts';

export interface RequestHeaderAuth {
  caPem: string;
  allowedNames: string[];
  usernameHeaders: string[];
  groupHeaders: string[];
  extraPrefixes: string[];
}

const list = (text: string | undefined) => {
  try {
    const parsed: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
};

/** Reads kube-system/extension-apiserver-authentication; undefined when it has no request-header CA. */
export async function readRequestHeaderAuth(kc: KubeConfig): Promise<RequestHeaderAuth | undefined> {
  const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: 'kube-system', name: 'extension-apiserver-authentication' });
  const data = cm.data ?? {};
  const caPem = data['requestheader-client-ca-file'];
  if (!caPem) return undefined;
  return {
    caPem, allowedNames: list(data['requestheader-allowed-names']),
    usernameHeaders: list(data['requestheader-username-headers']).map((h) => h.toLowerCase()),
    groupHeaders: list(data['requestheader-group-headers']).map((h) => h.toLowerCase()),
    extraPrefixes: list(data['requestheader-extra-headers-prefix']).map((h) => h.toLowerCase()),
  };
}

export interface FrontProxyUser {
  user: string;
  groups: string[];
  extra: Record<string, string[]>;
}

const values = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Step 1: the user the front proxy vouches for, or why the request is refused. */
export function authenticate(request: FastifyRequest, auth: RequestHeaderAuth): FrontProxyUser | Status {
  const socket = request.raw.socket as TLSSocket;
  const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
  if (!cert?.subject) return status(401, 'Unauthorized', 'a client certificate from the API server\'s front proxy (requestheader-client-ca-file) is required');
  const cn = Array.isArray(cert.subject.CN) ? cert.subject.CN[0] : cert.subject.CN;
  if (auth.allowedNames.length && !auth.allowedNames.includes(cn ?? '')) return status(401, 'Unauthorized', `client certificate CN "${cn ?? ''}" is not one of requestheader-allowed-names`);
  const user = auth.usernameHeaders.map((h) => values(request.headers[h])[0]).find((u) => u);
  if (!user) return status(401, 'Unauthorized', 'the front proxy named no user');
  const groups = auth.groupHeaders.flatMap((h) => values(request.headers[h]).flatMap((g) => g.split(',')).map((g) => g.trim()).filter(Boolean));
  // As the API server does for every authenticated user (RBAC's discovery roles are bound to it).
  if (!groups.includes('system:authenticated')) groups.push('system:authenticated');
  const extra: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const prefix = auth.extraPrefixes.find((p) => name.startsWith(p));
    if (prefix && name.length > prefix.length) (extra[decodeURIComponent(name.slice(prefix.length))] ??= []).push(...values(value));
  }
  return { user, groups, extra };
}

export interface AggregatedServerOptions {
  kubeconfig: KubeConfig;
  host: string;
  port: number;
  certificate(): { certPem: string; keyPem: string };
  backend: TrafficMetricsBackend;
  log: (event: string, detail: Record<string, unknown>) => void;
  /** TLS handshakes must finish within this (default 10 s). */
  handshakeTimeoutMs?: number;
}

const DECISION_TTL_MS = 10_000;

export async function startAggregatedApi(o: AggregatedServerOptions): Promise<{ app: FastifyInstance; refresh(): Promise<void>; setCertificate(certPem: string, keyPem: string): void; stop(): Promise<void> }> {
  let auth = await readRequestHeaderAuth(o.kubeconfig);
  if (!auth) throw new Error('kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: the API server is not set up for aggregated APIs');
  const sar = o.kubeconfig.makeApiClient(AuthorizationV1Api);
  const decisions = new Map<string, { at: number; allowed: boolean; reason: string }>();
  const { certPem, keyPem } = o.certificate();
  const tls = (c: { certPem: string; keyPem: string }, ca: string) => ({ cert: c.certPem, key: c.keyPem, ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' as const });
  let current = { certPem, keyPem };
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024, requestTimeout: 30_000, connectionTimeout: 60_000, https: { ...tls(current, auth.caPem), handshakeTimeout: o.handshakeTimeoutMs ?? 10_000 } });

  const authorize = async (request: FastifyRequest, access: AccessAttributes) => {
    const who = authenticate(request, auth as RequestHeaderAuth);
    if ('kind' in who) return { allowed: false as const, status: who };
    const attributes = access.kind === 'path'
      ? { nonResourceAttributes: { path: access.path, verb: access.verb } }
      : { resourceAttributes: { group: METRICS_GROUP, version: METRICS_VERSION, resource: access.resource, verb: access.verb, ...(access.subresource ? { subresource: access.subresource } : {}), ...(access.namespace ? { namespace: access.namespace } : {}), ...(access.name ? { name: access.name } : {}) } };
    const key = JSON.stringify([who, attributes]);
    let decision = decisions.get(key);
    if (!decision || Date.now() - decision.at > DECISION_TTL_MS) {
      const review = await sar.createSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: who.user, groups: who.groups, extra: who.extra, ...attributes } } });
      decision = { at: Date.now(), allowed: review.status?.allowed === true, reason: review.status?.reason ?? '' };
      if (decisions.size >= 10_000) decisions.clear();
      decisions.set(key, decision);
    }
    if (decision.allowed) return { allowed: true as const };
    const what = access.kind === 'path' ? access.path : `${access.resource}${access.subresource ? `/${access.subresource}` : ''}.${METRICS_GROUP}${access.namespace ? ` in namespace "${access.namespace}"` : ''}`;
    return { allowed: false as const, status: status(403, 'Forbidden', `user "${who.user}" cannot ${access.verb} ${what}${decision.reason ? `: ${decision.reason}` : ''}`) };
  };
  // Refusals are logged (path, status, who asked): an operator can see who was turned away and why.
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 400) o.log('traffic-metrics-refused', { path: request.url.slice(0, 200), status: reply.statusCode, accept: request.headers.accept?.slice(0, 100), user: request.headers['x-remote-user'] ?? null });
  });
  registerTrafficMetrics(app, o.backend, authorize);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(status(404, 'NotFound', 'the server could not find the requested resource')));
  await app.listen({ host: o.host, port: o.port });

  const apply = () => (app.server as unknown as { setSecureContext(options: object): void }).setSecureContext(tls(current, (auth as RequestHeaderAuth).caPem));
  const refresh = async () => {
    try {
      const next = await readRequestHeaderAuth(o.kubeconfig);
      if (next && JSON.stringify(next) !== JSON.stringify(auth)) {
        auth = next;
        decisions.clear();
        apply();
        o.log('front-proxy-settings-reloaded', { allowedNames: next.allowedNames });
      }
    } catch (err) {
      o.log('front-proxy-settings-unreadable', { error: (err as Error).message });
    }
  };
  const timer = setInterval(() => void refresh(), 60_000);
  timer.unref();
  return {
    app, refresh,
    setCertificate: (cert, key) => {
      current = { certPem: cert, keyPem: key };
      apply();
    },
    stop: async () => {
      clearInterval(timer);
      await app.close();
    },
  };
}
