/**
 * distribute: the config stream and certificate endpoint sidecars talk to, over TLS.
 *
 *   POST /v1/certificate  {proxy, csr, token?}  → {certificate, trustBundle, notAfter}
 *        first time: a one-time bootstrap token (local mode) or a pod-bound ServiceAccount token
 *        (TokenReview); renewal: its current mTLS cert. ECDSA P-256 keys only.
 *   GET  /v1/config?proxy=ns/pod&have=<hash>[&demand=1[&tcp=1][&udp=1]] → Server-Sent Events, one
 *        `config` event per new version (none when `have` is current); mTLS with the proxy's
 *        identity required. `demand=1`: the proxy resolves on demand; without `udp=1` (a
 *        sidecar older than UDP access) its config leaves UDP out
 *   POST /v1/subscribe {proxy, hosts?, services?, drop?} → {hash, hosts}: changes what a proxy
 *        resolving on demand is configured for (adds the Services its application's hosts name,
 *        or Services by key when it resumes; drops those it stopped calling); the new config goes
 *        out on its stream before the answer
 *   POST /v1/ack {proxy, hash | error}          → records what the proxy applied or refused
 *   POST /v1/ack-stream?proxy=ns/pod             → the same, one ack per line of a long-lived
 *        HTTP/2 request on the stream's connection (ack-stream.ts)
 *   POST /v1/traffic {proxy, series}             → one interval of the proxy's traffic (config/traffic.ts)
 *   POST /v1/traffic/partial {query}             → this replica's part of a TrafficMetrics answer;
 *        only another control plane replica (the controller's own identity) may ask
 *   GET  /v1/acks                                → {proxy: applied hash} of the proxies that acked
 *        here; only another replica may ask (the leader writes Programmed from all of them)
 *
 * The listener speaks HTTP/2 and HTTP/1.1. A proxy holds its stream and sends its
 * subscriptions on one HTTP/2 connection, so both reach the same replica. Later versions go
 * as deltas when the proxy takes them and the delta is smaller (config/delta.ts).
 *
 * A debug server (loopback, plain HTTP) serves /debug/proxies, /debug/topology and
 * /debug/config/<ns>/<pod>.
 */
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CertificateAuthority } from '../ca/authority.ts';
import { certificateIdentity } from '../../lib/spiffe.ts';
import { configJson, MAX_SUBSCRIPTIONS, outboundJsonOf, type MeshController, type ProxyRecord } from '../controller.ts';
import { AckSchema, CertificateRequestSchema, CONFIG_EVENT, DELTA_EVENT, deltaJson, SubscribeSchema, type ProxyConfig, type Ack, type CertificateRequest, type CertificateResponse, type ErrorBody, type Subscribe, type SubscribeAnswer } from '../../config/index.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../lib/csr.ts';
import type { BootstrapTokens } from './tokens.ts';
import { registerTrafficIntake } from './traffic-intake.ts';
import { registerAckStream } from './ack-stream.ts';
import type { TrafficStore } from '../traffic/store.ts';
import type { LocalTraffic } from '../traffic/backend.ts';
import { renewServingCertificate, SERVING_TTL_MS } from '../serving-certificate.ts';

export const CONTROL_IDENTITY_NAMESPACE = 'skiff-system';
export const CONTROL_IDENTITY_ACCOUNT = 'skiff-controller';
const HEARTBEAT_MS = 15_000;

export interface DistributionOptions {
  controller: MeshController;
  ca: CertificateAuthority;
  host: string;
  port: number;
  /** One-time bootstrap tokens (local mode: the runtime hands each sidecar its own). */
  tokens?: BootstrapTokens;
  /** Certificate lifetime for workloads; default the CA's. */
  workloadTtlMs?: number;
  /**
   * A proxy with no valid certificate asked for one without a token that works (its certificate
   * expired while the control plane was away): local mode writes it a fresh one-time token.
   */
  identityLapsed?: (proxy: string) => void;
  /** Checks a bootstrap token some other way (Kubernetes: a projected ServiceAccount token via TokenReview). */
  verifyToken?: (proxy: string, token: string, identity: string) => Promise<boolean>;
  /** How long a config stream for a proxy id the mesh does not know stays open (default 5 min). */
  unknownStreamTtlMs?: number;
  /** How long one request (HTTP/1.1 or an HTTP/2 stream) may take to arrive whole, config streams apart (default 10 s). */
  requestTimeoutMs?: number;
  /** The namespace the control plane runs in: its identity and its Service's DNS name (default skiff-system). */
  namespace?: string;
  /** Where traffic reports go (the TrafficMetrics API reads it), and this replica's part of an answer for the others; absent: reports are refused. */
  traffic?: { store: TrafficStore; local: LocalTraffic };
  /** The lifetime of this server's own certificate, renewed at half of it (default a week). */
  servingTtlMs?: number;
  /** Events worth a log line (the serving certificate renewed). */
  log?: (event: string, detail: Record<string, unknown>) => void;
}

/** Proxy ids are `<namespace>/<pod>`, both Kubernetes names. */
const PROXY_ID = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const MAX_STREAMS_PER_PROXY = 4;
/** HTTP/2: requests open at once on one connection. */
const MAX_STREAMS_PER_CONNECTION = 64;
/**
 * Connections the kernel holds for the control plane to accept (Node's default is 511). After
 * a control plane restarts, every proxy reconnects within seconds; a full queue drops their
 * SYNs, which the proxies' kernels resend only after 1, 3, 7 s: 5,000 proxies reconnecting met
 * 2,400 connect timeouts with 511. The kernel caps it at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 4096;
/** Certificate requests and acks are small; anything bigger is refused before it is parsed. */
const BODY_LIMIT = 16 * 1024;
/** A resuming proxy names up to 5,000 Services at once. */
const SUBSCRIBE_BODY_LIMIT = 512 * 1024;

/** What a connection's verified client certificate says: its workload identity and its expiry. */
interface PeerCertificate { identity: string; notAfter: string }

/**
 * Each connection's client certificate, read once: a TLS 1.3 connection's peer certificate never
 * changes, and parsing it per request (every ack and subscription) was a fifth of the control
 * plane's CPU while 1,000 proxies acked a change. Keyed by the HTTP/2 session (its streams each
 * get their own socket stand-in) or the HTTP/1.1 socket; null: no valid workload certificate.
 */
const peers = new WeakMap<object, PeerCertificate | null>();

export function peerCertificate(request: FastifyRequest): PeerCertificate | undefined {
  const raw = request.raw as FastifyRequest['raw'] & { stream?: { session?: { socket?: TLSSocket } } };
  const session = raw.stream?.session;
  const socket = (session?.socket ?? raw.socket) as TLSSocket;
  const key: object = session ?? socket;
  const known = peers.get(key);
  if (known !== undefined) return known ?? undefined;
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerX509Certificate?.();
  const checked = cert ? certificateIdentity(cert.subjectAltName) : undefined;
  const peer = cert && checked && 'identity' in checked ? { identity: checked.identity, notAfter: new Date(cert.validTo).toISOString() } : null;
  peers.set(key, peer);
  return peer ?? undefined;
}

export function peerIdentity(request: FastifyRequest): string | undefined {
  return peerCertificate(request)?.identity;
}

/** The part of an HTTP/1.1 or HTTP/2 response a config stream uses. */
interface StreamResponse {
  write(chunk: string): boolean;
  destroy(): void;
  on(event: 'close', listener: () => void): unknown;
}

interface Stream {
  res: StreamResponse;
  proxy: string;
  /** The verified identity that opened the stream: only that proxy's config is ever sent on it. */
  caller: string;
  openedAt: number;
  /** The proxy resolves on demand (and forwards TCP without capture); `udp`: it takes UDP in its config (a sidecar that predates UDP does not say so). */
  demand?: { tcp: boolean; udp: boolean };
  /** The proxy takes deltas: the config it has from this stream, the base of the next one. */
  deltas: boolean;
  sent?: ProxyConfig;
}

export class DistributionServer {
  private app: FastifyInstance | undefined;
  private readonly streams = new Map<string, Set<Stream>>();
  private readonly options: DistributionOptions;
  private heartbeat: NodeJS.Timeout | undefined;
  private renewal: { stop(): void } | undefined;

  private readonly onChanged = (ids: string[]) => {
    for (const id of ids) this.push(id);
  };

  constructor(options: DistributionOptions) {
    this.options = options;
    options.controller.on('changed', this.onChanged);
  }

  private push(id: string): void {
    const record = this.options.controller.proxies.get(id);
    const streams = this.streams.get(id);
    if (!record || !streams) return;
    // A stream opened before its pod was known: the config it gets is the one it asked for.
    for (const stream of streams) if (stream.demand && !record.demand && stream.caller === record.identity) this.options.controller.demand(id, stream.demand, false);
    for (const stream of streams) {
      // A stream opened before the pod existed, by another identity, never gets its config.
      if (stream.caller !== record.identity) stream.res.destroy();
      else this.send(stream, record);
    }
  }

  /** Closes streams for ids the mesh still does not know after the grace period. */
  private expireUnknown(): void {
    const deadline = Date.now() - (this.options.unknownStreamTtlMs ?? 5 * 60_000);
    for (const [id, set] of this.streams) {
      if (this.options.controller.proxies.has(id)) continue;
      for (const stream of set) if (stream.openedAt <= deadline) stream.res.destroy();
    }
  }

  /** Open config streams (all ids), for tests and /debug. */
  streamCount(): number {
    let n = 0;
    for (const set of this.streams.values()) n += set.size;
    return n;
  }

  /** Bytes of config events written (whole configs and deltas), for benchmarks and /debug. */
  readonly sentBytes = { configs: 0, deltas: 0 };

  /** The new version: as a delta from what this stream sent last when that is smaller, else whole. */
  private send(stream: Stream, record: ProxyRecord): void {
    const config = record.config;
    const delta = stream.deltas && stream.sent && stream.sent !== config ? deltaJson(stream.sent, config) : undefined;
    // The whole config is longer than its (shared, serialised once) outbound half: a delta shorter than that is sent without serialising the whole.
    if (delta !== undefined && (delta.length < outboundJsonOf(config).length || delta.length < configJson(record).length)) {
      stream.res.write(`event: ${DELTA_EVENT}\nid: ${config.hash}\ndata: ${delta}\n\n`);
      this.sentBytes.deltas += delta.length;
    } else {
      const whole = configJson(record);
      stream.res.write(`event: ${CONFIG_EVENT}\nid: ${config.hash}\ndata: ${whole}\n\n`);
      this.sentBytes.configs += whole.length;
    }
    stream.sent = config;
    record.sentHash = config.hash;
    record.sentAt = Date.now();
  }

  async start(): Promise<string> {
    const { ca, controller } = this.options;
    const namespace = this.options.namespace ?? CONTROL_IDENTITY_NAMESPACE;
    const identity = ca.spiffeId(namespace, CONTROL_IDENTITY_ACCOUNT);
    // The stream's own certificate, renewed while the server runs (the proxies check it against the trust bundle, by name).
    const issue = () => {
      const keys = generateKeyPair();
      const issued = ca.issue(createCsr(keys, identity), identity, this.options.servingTtlMs ?? SERVING_TTL_MS, { dnsNames: ['localhost', `${CONTROL_IDENTITY_ACCOUNT}.${namespace}.svc`], ipAddresses: [this.options.host] });
      return { certPem: issued.certificatePem, keyPem: privateKeyPem(keys.privateKey), notAfter: issued.notAfter };
    };
    const tlsOf = (cert: { certPem: string; keyPem: string }) => ({ key: cert.keyPem, cert: cert.certPem, ca: ca.trustBundle(), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' as const });
    const renewal = renewServingCertificate(issue, (cert) => (app.server as unknown as { setSecureContext(o: ReturnType<typeof tlsOf>): void }).setSecureContext(tlsOf(cert)), this.options.log ?? (() => undefined), 'config-stream-certificate-renewed');
    this.renewal = renewal;
    const app = Fastify({
      logger: false,
      http2: true,
      // Unknown fields are refused (400), not silently dropped.
      ajv: { customOptions: { removeAdditional: false } },
      forceCloseConnections: true,
      bodyLimit: BODY_LIMIT,
      requestTimeout: this.options.requestTimeoutMs ?? 10_000,
      // An HTTP/2 connection is closed after 30 s without a frame (config streams send a heartbeat every 15 s).
      http2SessionTimeout: 30_000,
      https: { settings: { maxConcurrentStreams: MAX_STREAMS_PER_CONNECTION }, allowHTTP1: true, handshakeTimeout: 10_000, ...tlsOf(renewal.current) },
    }) as unknown as FastifyInstance;
    this.app = app;
    // requestTimeout covers HTTP/1.1; an HTTP/2 stream gets the same bound here (a config stream lifts it once it starts).
    app.addHook('onRequest', (request, _reply, done) => {
      const raw = request.raw as unknown as { httpVersionMajor: number; setTimeout(ms: number, cb: () => void): void; stream: { close(code: number): void } };
      if (raw.httpVersionMajor === 2) raw.setTimeout(this.options.requestTimeoutMs ?? 10_000, () => raw.stream.close(http2.constants.NGHTTP2_CANCEL));
      done();
    });

    /** A proxy's record when the caller proves that proxy's identity; else the refusal is sent (401, 404, 403) and undefined returned. */
    const ownRecord = (request: FastifyRequest, reply: FastifyReply, proxy: string): ProxyRecord | undefined => {
      const caller = peerIdentity(request);
      const record = caller ? controller.proxies.get(proxy) : undefined;
      if (!caller) void reply.code(401).send({ error: 'a mesh client certificate is required' });
      else if (!record) void reply.code(404).send({ error: `no meshed pod ${proxy} in the current topology; retry` });
      else if (caller !== record.identity) void reply.code(403).send({ error: 'not this proxy\'s identity' });
      return caller && record?.identity === caller ? record : undefined;
    };

    app.post<{ Body: CertificateRequest }>('/v1/certificate', { schema: { body: CertificateRequestSchema } }, async (request, reply) => {
      const { proxy, csr, token } = request.body;
      if (!PROXY_ID.test(proxy)) return reply.code(400).send({ error: 'proxy must be <namespace>/<pod>' } satisfies ErrorBody);
      const record = controller.proxies.get(proxy);
      if (!record) return reply.code(404).send({ error: `no meshed pod ${proxy} in the current topology; retry` });
      // A valid certificate of the proxy proves it; else its token (a one-time token is used up only then).
      const viaCert = peerIdentity(request) === record.identity;
      const viaToken = !viaCert && token !== undefined
        && ((this.options.tokens?.consume(proxy, token) ?? false) || (await this.options.verifyToken?.(proxy, token, record.identity).catch(() => false)) === true);
      if (!viaToken && !viaCert) {
        // The last certificate issued to it has expired (or none is known): it can prove itself only with a new token.
        if (record.certificateNotAfter === undefined || Date.parse(record.certificateNotAfter) <= Date.now()) this.options.identityLapsed?.(proxy);
        return reply.code(403).send({ error: `proof of identity for ${proxy} missing: a bootstrap token or a certificate for ${record.identity}` });
      }
      try {
        const cert = ca.issue(csr, record.identity, this.options.workloadTtlMs);
        record.certificateNotAfter = cert.notAfter.toISOString();
        return { certificate: cert.certificatePem, trustBundle: ca.trustBundle(), notAfter: cert.notAfter.toISOString(), identity: cert.identity } satisfies CertificateResponse;
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message });
      }
    });

    app.get<{ Querystring: { proxy?: string; have?: string; demand?: string; tcp?: string; udp?: string; deltas?: string } }>('/v1/config', (request, reply) => {
      const proxy = request.query.proxy ?? '';
      const caller = peerIdentity(request);
      const record = controller.proxies.get(proxy);
      if (!caller) return reply.code(401).send({ error: 'a mesh client certificate is required' });
      if (!PROXY_ID.test(proxy)) return reply.code(400).send({ error: 'proxy must be <namespace>/<pod>' });
      if (record && record.identity !== caller) return reply.code(403).send({ error: `${caller} may not read the config of ${proxy}` });
      if ((this.streams.get(proxy)?.size ?? 0) >= MAX_STREAMS_PER_PROXY) return reply.code(429).send({ error: `${proxy} already has ${MAX_STREAMS_PER_PROXY} config streams` });
      const demand = request.query.demand === '1' ? { tcp: request.query.tcp === '1', udp: request.query.udp === '1' } : undefined;
      // Before the stream is listed: the config it starts with already holds what was asked for.
      if (record && demand) controller.demand(proxy, demand);
      reply.hijack();
      if (request.raw.httpVersionMajor === 2) (request.raw as unknown as { setTimeout(ms: number): void }).setTimeout(0);
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', ...(request.raw.httpVersionMajor === 2 ? {} : { connection: 'keep-alive' }) });
      res.write(': skiff config stream\n\n');
      const stream: Stream = { res, proxy, caller, openedAt: Date.now(), deltas: request.query.deltas === '1', ...(demand ? { demand } : {}) };
      let set = this.streams.get(proxy);
      if (!set) {
        set = new Set();
        this.streams.set(proxy, set);
      }
      set.add(stream);
      if (record) {
        controller.streamed(proxy, 1);
        // The certificate the proxy really uses, as it showed it (a restarted sidecar keeps a valid one without asking).
        const shown = peerCertificate(request);
        if (shown) record.certificateNotAfter = shown.notAfter;
        // `have` from the query, or the standard Last-Event-ID of a reconnecting EventSource.
        const have = request.query.have ?? request.headers['last-event-id'];
        if (record.config.hash !== have) this.send(stream, record);
        else {
          // A sidecar's `have` is a version it applied (not merely received, as Last-Event-ID is): on this replica (a failover) that is its ack.
          record.sentHash = record.config.hash;
          stream.sent = record.config;
          if (request.query.have === have && record.appliedHash !== have) controller.acknowledge(proxy, { hash: have });
        }
      }
      res.on('close', () => {
        set?.delete(stream);
        if (set?.size === 0 && this.streams.get(proxy) === set) this.streams.delete(proxy);
        if (record) controller.streamed(proxy, -1);
      });
    });

    app.post<{ Body: Ack }>('/v1/ack', { schema: { body: AckSchema } }, async (request, reply) => {
      const { proxy, hash, error } = request.body;
      const record = ownRecord(request, reply, proxy);
      if (!record) return reply;
      controller.acknowledge(record.id, { ...(hash ? { hash } : {}), ...(error ? { error } : {}) });
      return { ok: true };
    });

    registerAckStream(app, { controller, ownRecord });

    app.post<{ Body: Subscribe }>('/v1/subscribe', { schema: { body: SubscribeSchema }, bodyLimit: SUBSCRIBE_BODY_LIMIT }, async (request, reply) => {
      const { proxy, hosts, services, drop } = request.body;
      const record = ownRecord(request, reply, proxy);
      if (!record) return reply;
      const answer = controller.demand(proxy, { ...(hosts ? { hosts } : {}), ...(services ? { services } : {}), ...(drop ? { drop } : {}) });
      if (!answer) return reply.code(429).send({ error: `${proxy} would subscribe to more than ${MAX_SUBSCRIPTIONS} Services; give it an outbound scope` });
      return answer satisfies SubscribeAnswer;
    });

    app.get('/v1/acks', async (request, reply) => {
      if (peerIdentity(request) !== identity) return reply.code(403).send({ error: 'only another control plane replica may ask what proxies applied' });
      // With `since` (a leader of this version): what changed since; without, every entry as a flat map (earlier versions).
      const { since, epoch } = request.query as { since?: string; epoch?: string };
      if (since === undefined) return controller.acks();
      const seq = Number(since);
      return controller.acksSince(epoch !== undefined && Number.isSafeInteger(seq) && seq >= 0 ? { epoch, seq } : undefined);
    });

    if (this.options.traffic) registerTrafficIntake(app, { controller, store: this.options.traffic.store, local: this.options.traffic.local, peerIdentity, controlIdentity: identity });

    await app.listen({ host: this.options.host, port: this.options.port, backlog: LISTEN_BACKLOG });
    this.heartbeat = setInterval(() => {
      this.expireUnknown();
      for (const set of this.streams.values()) for (const s of set) s.res.write(': heartbeat\n\n');
    }, Math.min(HEARTBEAT_MS, this.options.unknownStreamTtlMs ?? HEARTBEAT_MS));
    this.heartbeat.unref();
    const address = app.server.address();
    return typeof address === 'object' && address ? `https://${this.options.host}:${address.port}` : '';
  }

  async close(): Promise<void> {
    this.options.controller.off('changed', this.onChanged);
    this.renewal?.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const set of this.streams.values()) for (const s of set) s.res.destroy();
    await this.app?.close();
  }
}

/** Read-only debug endpoints on loopback. */
export async function startDebugServer(controller: MeshController, host: string, port: number, extra: Record<string, () => unknown> = {}, register?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  register?.(app);
  app.get('/debug/proxies', async () => controller.proxyStatus());
  app.get('/debug/topology', async () => controller.topology ?? null);
  app.get('/debug/problems', async () => controller.problems());
  app.get<{ Params: { ns: string; pod: string } }>('/debug/config/:ns/:pod', async (request, reply) => {
    const record = controller.proxies.get(`${request.params.ns}/${request.params.pod}`);
    return record ? { hash: record.config.hash, applied: record.appliedHash ?? null, config: record.config } : reply.code(404).send({ error: 'no such proxy' });
  });
  for (const [path, handler] of Object.entries(extra)) app.get(path, async () => handler());
  await app.listen({ host, port });
  return app;
}
