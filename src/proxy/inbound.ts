/**
 * The inbound listener: one port on the pod's address for everything that comes in.
 * TLS (first byte 0x16) is mesh traffic: the caller's certificate must chain to the mesh
 * trust bundle, its SPIFFE ID is the caller's identity, and SNI names the target port
 * (`<port>.inbound.skiff`, or `tcp-<port>.inbound.skiff` for TCP pass-through). Anything
 * else is a plaintext caller without identity, accepted only in permissive namespaces. The
 * access rules decide; a denial is a 403 with the reason, never a reset.
 */
import type net from 'node:net';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { normalizeRequestTarget, parseAuthority, type AccessDecision, type Authority, type ProxyConfig } from '../config/index.ts';
import { BoundedMemo } from '../lib/bounded-memo.ts';
import { parseSpiffeId } from '../lib/spiffe.ts';
import { stateOrNotReady, type ProxyContext } from './context.ts';
import { forward } from './forward.ts';
import { originalDestination } from './original-destination.ts';
import { enforceTimeoutsWithoutListening, type Frontend, type ProxiedRequest } from './frontend.ts';
import { sendGenerated } from './generated.ts';
import { UPGRADE } from './upgrade.ts';
import { effectiveStatus } from './grpc.ts';
import { connectionFacts, isHttp2 } from './h2-frontend.ts';
import { CLIENT_HEADER, expectsContinue, forwardableHeaders, hasBody, headerValue, hostOf, RequestHeaderFacts, SERVICE_HEADER, setForwardedFor, setVerifiedClientCert } from './http-headers.ts';
import type { ListenerLimits } from './limits.ts';
import { PeerTlsAcceptor } from './peer-tls.ts';
import type { RequestLabels } from './telemetry.ts';
import type { SeriesKey } from './traffic-recorder.ts';
import { SNI_SUFFIX, TCP_SNI_PREFIX } from './upstream.ts';
import { TO_APPLICATION } from './state.ts';
import { handleInboundTcp } from './tcp.ts';
import { createListener } from './listener.ts';

export const PEER_IDENTITY_HEADER = 'x-skiff-peer-identity';

function sniPort(servername: string | undefined): { port: number; tcp: boolean } | undefined {
  if (!servername || !servername.endsWith(SNI_SUFFIX)) return undefined;
  let head = servername.slice(0, -SNI_SUFFIX.length);
  const tcp = head.startsWith(TCP_SNI_PREFIX);
  if (tcp) head = head.slice(TCP_SNI_PREFIX.length);
  if (!/^[0-9]{1,5}$/.test(head)) return undefined;
  const port = Number(head);
  return port > 0 && port < 65536 ? { port, tcp } : undefined;
}

/**
 * Accepts raw connections, tells TLS from plaintext by the first byte, and hands HTTP to the
 * frontend. Every phase is timed: the first byte, the TLS handshake, the request headers
 * (the frontend), idle connections; the listener holds at most `maxConnections` at once.
 */
export function acceptInbound(ctx: ProxyContext, frontend: Frontend, limits: ListenerLimits): net.Server {
  const refuse = (reason: string) => ctx.telemetry.connectionsRefused.labels({ listener: 'inbound', reason }).inc();
  const acceptor = new PeerTlsAcceptor({
    onPeer: (secure, identity, servername) => {
      const sni = sniPort(servername);
      if (sni?.tcp) {
        handleInboundTcp(ctx, secure, identity, sni.port);
        return;
      }
      const namespace = parseSpiffeId(identity)?.namespace;
      frontend.acceptSecure(secure, { identity, ...(namespace ? { namespace } : {}), ...(sni ? { port: sni.port } : {}), ...(secure.remoteAddress ? { remoteAddress: secure.remoteAddress } : {}) });
    },
    onRefused: (reason) => refuse(reason),
  }, () => ctx.state?.config.mesh.trustDomain, limits.handshakeMs);
  enforceTimeoutsWithoutListening(frontend);
  const server = createListener((socket) => {
    socket.on('error', () => socket.destroy());
    const firstByte = setTimeout(() => {
      refuse('first-byte-timeout');
      socket.destroy();
    }, limits.firstByteMs);
    socket.once('close', () => clearTimeout(firstByte));
    socket.once('readable', () => {
      clearTimeout(firstByte);
      const first = socket.read(1) as Buffer | null;
      if (!first) {
        socket.destroy();
        return;
      }
      socket.unshift(first);
      if (first[0] !== 0x16) {
        const port = ctx.capture ? originalDestination(socket)?.port : undefined;
        frontend.acceptPlain(socket, { ...(port !== undefined && port !== socket.localPort ? { port } : {}), ...(socket.remoteAddress ? { remoteAddress: socket.remoteAddress } : {}) });
        return;
      }
      const material = ctx.tls;
      if (!material) {
        refuse('no-certificate-yet');
        socket.destroy();
        return;
      }
      acceptor.accept(socket, material);
    });
  });
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => refuse('too-many-connections'));
  return server;
}

/** Valid Host headers already parsed: callers repeat their Host, so most requests skip parsing it. */
const authorities = new BoundedMemo<string, Authority>(256);

function authorityOf(host: string): Authority | undefined {
  const known = authorities.get(host);
  if (known !== undefined) return known;
  const parsed = parseAuthority(host);
  if (parsed !== undefined) authorities.set(host, parsed);
  return parsed;
}

/** Whether a caller's `ns/kind/name/pod` claim names `namespace` (the one its certificate proves) as its first part. */
function claimsNamespace(claim: string, namespace: string): boolean {
  return claim.startsWith(namespace) && (claim.length === namespace.length || claim.charCodeAt(namespace.length) === 0x2f);
}

export function handleInbound(ctx: ProxyContext, req: ProxiedRequest, res: ServerResponse): void {
  const started = performance.now();
  const state = stateOrNotReady(ctx, res);
  if (!state) return;
  const peer = connectionFacts(req);
  const host = hostOf(req.headers);
  const authority = host === undefined ? undefined : authorityOf(host);
  if (host !== undefined && !authority) {
    sendGenerated(res, 'bad-request', 'the Host header is not a valid authority');
    return;
  }
  const target = normalizeRequestTarget(req.url ?? '/');
  if ('problem' in target) {
    sendGenerated(res, 'bad-request', target.problem);
    return;
  }
  const hostPort = authority?.port;
  const port = peer.port ?? (hostPort !== undefined && state.inboundPorts.has(hostPort) ? hostPort : state.defaultInboundPort);
  const me = state.config.proxy;
  const inboundPort = port === undefined ? undefined : state.inboundPorts.get(port);
  const sourceNamespace = peer.namespace ?? '';
  // The caller's own account of its workload and pod: taken only from a verified mesh peer, and
  // only when it names the namespace the peer's certificate proves (split into its parts only
  // when its counters are first described).
  const claim = peer.identity ? headerValue(req.headers, CLIENT_HEADER) : undefined;
  const client = claim !== undefined && claimsNamespace(claim, sourceNamespace) ? claim : undefined;
  const addressed = peer.identity ? headerValue(req.headers, SERVICE_HEADER) : undefined;
  const service = addressed !== undefined && inboundPort?.services.includes(addressed) ? addressed : inboundPort?.services[0];
  // The labels and series follow from the caller's claim, the Service, the port and the route:
  // counters are found by a short key and described once (telemetry.ts).
  let route = '';
  const record = (status: number, generated?: string) => {
    const key = `${peer.identity ? sourceNamespace : '\u0000'}\u0001${client ?? ''}\u0001${service ?? ''}\u0001${route}`;
    const counters = ctx.telemetry.knownCountersForKey(key) ?? ctx.telemetry.countersForKey(key, () => describeInbound(me, peer.identity !== undefined, sourceNamespace, client, service, route));
    ctx.telemetry.count(counters, status, generated, performance.now() - started);
  };
  if (port === undefined || !inboundPort) {
    sendGenerated(res, 'unknown-port', port === undefined ? 'the request does not say which port it is for' : `this workload serves nothing on port ${port}`);
    record(404, 'unknown-port');
    return;
  }
  const method = req.method ?? 'GET';
  const facts = new RequestHeaderFacts(method, target.path, req.headers);
  const probe = !peer.identity && (method === 'GET' || method === 'HEAD') && ctx.probePaths.has(`${port}:${target.path}`);
  const decision: AccessDecision = probe ? { allowed: true, via: 'probe', reason: `the application's probe path ${port}:${target.path}` } : state.decide(peer.identity, port, 'http', facts);
  if (!decision.allowed) {
    ctx.counters.inboundDenied++;
    const reason = peer.identity ? 'access-denied' : 'unauthenticated';
    sendGenerated(res, reason, decision.reason);
    record(403, reason);
    return;
  }
  ctx.counters.inboundAllowed++;
  route = decision.route ?? '';
  if (!ctx.rateLimits.take(inboundPort, peer.identity)) {
    sendGenerated(res, 'rate-limited', inboundPort.rateLimit?.perCaller ? `the rate limit for ${peer.identity ?? 'unauthenticated callers'} on port ${port} is exhausted` : `the rate limit of port ${port} is exhausted`);
    record(429, 'rate-limited');
    return;
  }
  const headers = forwardableHeaders(req.headers);
  if (peer.identity) {
    headers[PEER_IDENTITY_HEADER] = peer.identity;
    setVerifiedClientCert(headers, ctx.tls?.identity, peer.identity);
  }
  setForwardedFor(headers, peer.remoteAddress);
  if (headers.host === undefined && host !== undefined) headers.host = host;
  const app = ctx.app.application(ctx.appHost, port, me.id);
  forward({
    req, res, method, path: target.path + target.query, upgrade: req[UPGRADE], headers, policy: TO_APPLICATION, upstreams: ctx.app, fromApplication: true,
    hasBody: hasBody(req), http2: isHttp2(req), expectContinue: expectsContinue(req.headers),
    to: app,
    done: (result) => {
      // A kubelet probe is not traffic: counting it would lift a failing version's success
      // rate above 0 (its probes still pass) and skew every rate a canary analysis reads.
      if (!probe) record(effectiveStatus(result.status, result.grpcStatus), result.reason);
      if (ctx.telemetry.logThis()) ctx.telemetry.accessLog({ direction: 'inbound', method, path: facts.path, port, status: result.status, source: peer.identity, via: decision.allowed ? decision.via : undefined, reason: result.reason, ms: Math.round(performance.now() - started) });
    },
  });
}

/**
 * The metric labels and traffic series of inbound requests: from the caller's verified
 * namespace and its claimed workload and pod (`client`: ns/kind/name/pod), the Service and the route.
 */
function describeInbound(me: ProxyConfig['proxy'], verified: boolean, sourceNamespace: string, claim: string | undefined, service: string | undefined, route: string): { labels: RequestLabels; series: SeriesKey } {
  const client = claim?.split('/');
  return {
    labels: {
      direction: 'inbound', source_namespace: sourceNamespace, source_workload_kind: client?.[1] ?? '', source_workload: client?.[2] ?? '',
      destination_namespace: me.namespace, destination_workload_kind: me.workload.kind, destination_workload: me.workload.name,
      destination_service: service?.split('/')[1] ?? '', route,
    },
    series: {
      direction: 'inbound',
      peer: verified ? { namespace: sourceNamespace, ...(client?.[3] ? { pod: client[3] } : {}), ...(client?.[1] && client[2] ? { kind: client[1], name: client[2] } : {}) } : {},
      ...(service ? { service } : {}),
    },
  };
}
