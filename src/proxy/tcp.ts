/**
 * TCP pass-through for ports that are not HTTP. Inbound: a TLS connection whose SNI is
 * `tcp-<port>.inbound.skiff` is checked against the access rules (protocol tcp) and piped to
 * the local application. Outbound: for each TCP port of a mesh service the proxy listens on
 * its forward address (same port number) and pipes each connection, over mTLS to a meshed
 * endpoint, along the service's first route; a connect failure is retried on another endpoint
 * and counts in outlier detection. Denied connections are closed (TCP has no 403).
 */
import net, { type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { OutboundPort, OutboundService, RoutePolicy } from '../config/index.ts';
import { LONGEST_TIMER_MS } from '../lib/request-timer.ts';
import type { ProxyContext } from './context.ts';
import { expectServerIdentity } from './peer-tls.ts';
import type { ClusterRuntime } from './state.ts';
import { SNI_SUFFIX, TCP_SNI_PREFIX, type EndpointRuntime } from './upstream.ts';
import { capOutboundConnections, createListener } from './listener.ts';

type RetryPolicy = RoutePolicy['retry'];
type TcpLabels = { direction: string; destination_namespace: string; destination_service: string };

export function pipeBoth(ctx: ProxyContext, a: Socket, b: Socket, labels: TcpLabels): void {
  // What one side writes goes on at once (no Nagle wait for an ACK the peer may delay 40 ms).
  a.setNoDelay(true);
  b.setNoDelay(true);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
  // The counters are looked up once per connection, not per chunk (prom-client hashes labels on each lookup).
  const telemetry = ctx.telemetry;
  const sent = telemetry.tcpBytes.labels({ ...labels, flow: 'sent' });
  const received = telemetry.tcpBytes.labels({ ...labels, flow: 'received' });
  a.on('data', (chunk: Buffer) => {
    telemetry.loopDelay.busy();
    sent.inc(chunk.length);
  });
  b.on('data', (chunk: Buffer) => {
    telemetry.loopDelay.busy();
    received.inc(chunk.length);
  });
}

export function handleInboundTcp(ctx: ProxyContext, socket: TLSSocket, identity: string | undefined, port: number): void {
  const state = ctx.state;
  const inbound = state?.inboundPorts.get(port);
  const labels = { direction: 'inbound', destination_namespace: state?.config.proxy.namespace ?? '', destination_service: inbound?.services[0]?.split('/')[1] ?? '' };
  if (!state || !inbound || !state.decide(identity, port, 'tcp').allowed) {
    ctx.telemetry.tcpConnections.labels({ ...labels, result: 'denied' }).inc();
    socket.destroy();
    return;
  }
  ctx.telemetry.tcpConnections.labels({ ...labels, result: 'allowed' }).inc();
  const app = net.connect({ host: ctx.appHost, port });
  pipeBoth(ctx, socket, app, labels);
}

/**
 * Pipes an application's connection for a service's TCP port along its first route: to an
 * endpoint picked by load, over mTLS when the endpoint is meshed. No endpoint: closed.
 */
export function forwardOutboundTcp(ctx: ProxyContext, socket: Socket, service: { namespace: string; name: string }, target: OutboundPort | undefined): void {
  const state = ctx.state;
  const labels = { direction: 'outbound', destination_namespace: service.namespace, destination_service: service.name };
  if (state?.config.outbound.onDemand) ctx.onDemand?.touch(`${service.namespace}/${service.name}`);
  const compiled = target ? state?.ports.get(target) : undefined;
  const route = target?.routes[0];
  const clusterName = route && compiled ? compiled.pick(route) : undefined;
  const cluster = clusterName ? state?.clusters.get(clusterName) : undefined;
  if (!route || !cluster) {
    ctx.telemetry.tcpConnections.labels({ ...labels, result: 'no-endpoint' }).inc();
    socket.destroy();
    return;
  }
  // Its mTLS connection upstream costs what a request calling out does: it takes a place.
  if (ctx.inFlight && !ctx.inFlight.admitConnection(socket, 'outbound')) {
    ctx.telemetry.tcpConnections.labels({ ...labels, result: 'overloaded' }).inc();
    socket.destroy();
    return;
  }
  // The application's bytes wait in its socket until a connection upstream stands.
  socket.on('error', () => socket.destroy());
  // A connection counts as a request in the retry budget, as forward() counts one.
  ctx.budget(cluster.config.name, route.policy.retry).recordRequest();
  connectUpstream(ctx, socket, cluster, route.policy.retry, labels, []);
}

/**
 * Connects upstream for one TCP connection, as forward() does for a request: a connect failure
 * or a connect timeout counts against the endpoint (outlier detection), and another endpoint
 * is tried when the route's retry conditions list `connect-failure` and its budget allows.
 * Nothing has been sent yet, so a retry is always safe. A client that leaves first ends it.
 */
function connectUpstream(ctx: ProxyContext, socket: Socket, cluster: ClusterRuntime, retry: RetryPolicy, labels: TcpLabels, tried: EndpointRuntime[]): void {
  const endpoint = cluster.pick(tried);
  if (!endpoint || socket.destroyed) {
    ctx.telemetry.tcpConnections.labels({ ...labels, result: tried.length === 0 ? 'no-endpoint' : 'connect-failure' }).inc();
    socket.destroy();
    return;
  }
  tried.push(endpoint);
  const material = ctx.tls;
  const e = endpoint.endpoint;
  const meshed = e.meshPort !== undefined && e.identity !== undefined && material !== undefined;
  const upstream = meshed
    ? tls.connect({
      host: e.address, port: e.meshPort, servername: `${TCP_SNI_PREFIX}${e.port}${SNI_SUFFIX}`, minVersion: 'TLSv1.3',
      cert: material.certPem, key: material.keyPem, ca: material.caPem,
      checkServerIdentity: expectServerIdentity(e.identity as string),
    })
    : net.connect({ host: e.address, port: e.port });
  const timeoutMs = Math.min(cluster.config.policy.connectTimeoutMs, LONGEST_TIMER_MS);
  const timer = timeoutMs > 0 ? setTimeout(() => upstream.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs) : undefined;
  const clientLeft = () => {
    clearTimeout(timer);
    upstream.destroy();
  };
  socket.once('close', clientLeft);
  let failedOnce = false;
  const failed = () => {
    // Once per attempt, whatever else the dying socket reports (a listener stays: no unhandled 'error').
    if (failedOnce) return;
    failedOnce = true;
    clearTimeout(timer);
    socket.off('close', clientLeft);
    if (socket.destroyed) return;
    endpoint.outlier.record(false, Date.now(), cluster.outlier.threshold, cluster.outlier.baseEjectionMs);
    if (retry.attempts >= tried.length && retry.on.includes('connect-failure') && ctx.budget(cluster.config.name, retry).tryRetry()) {
      ctx.telemetry.retries.labels({ cluster: cluster.config.name }).inc();
      connectUpstream(ctx, socket, cluster, retry, labels, tried);
      return;
    }
    ctx.telemetry.tcpConnections.labels({ ...labels, result: 'connect-failure' }).inc();
    socket.destroy();
  };
  upstream.on('error', failed);
  upstream.once(meshed ? 'secureConnect' : 'connect', () => {
    clearTimeout(timer);
    socket.off('close', clientLeft);
    upstream.off('error', failed);
    endpoint.outlier.record(true, Date.now(), cluster.outlier.threshold, cluster.outlier.baseEjectionMs);
    ctx.telemetry.tcpConnections.labels({ ...labels, result: 'forwarded' }).inc();
    pipeBoth(ctx, socket, upstream, labels);
  });
}

/** Outbound TCP listeners, opened and closed as the config's TCP service ports come and go. */
export class TcpForwards {
  private readonly listeners = new Map<number, { server: net.Server; service: string }>();
  private readonly ctx: ProxyContext;
  private readonly host: string;
  /** Connections each forward holds, as the outbound listener; beyond, closed at accept. */
  private readonly maxConnections: number;
  readonly conflicts: string[] = [];

  constructor(ctx: ProxyContext, host: string, maxConnections: number) {
    this.ctx = ctx;
    this.host = host;
    this.maxConnections = maxConnections;
  }

  /** Binds one listener per TCP port number; when two services share a number, the first (sorted) wins. */
  async sync(services: readonly OutboundService[]): Promise<void> {
    const wanted = new Map<number, string>();
    this.conflicts.length = 0;
    for (const s of services) {
      for (const p of s.ports) {
        if (p.protocol !== 'tcp') continue;
        const name = `${s.namespace}/${s.name}`;
        if (wanted.has(p.port)) this.conflicts.push(`port ${p.port}: ${name} (kept ${wanted.get(p.port)})`);
        else wanted.set(p.port, name);
      }
    }
    for (const [port, entry] of this.listeners) {
      if (wanted.get(port) !== entry.service) {
        entry.server.close();
        this.listeners.delete(port);
      }
    }
    for (const [port, service] of wanted) {
      if (this.listeners.has(port)) continue;
      const server = createListener((socket) => this.connect(socket, service, port), false);
      capOutboundConnections(server, this.maxConnections, this.ctx.telemetry);
      await new Promise<void>((resolve) => {
        server.once('error', (err) => {
          this.conflicts.push(`port ${port}: ${service}: ${err.message}`);
          resolve();
        });
        server.listen(port, this.host, () => resolve());
      });
      if (server.listening) this.listeners.set(port, { server, service });
    }
  }

  private readonly sockets = new Set<Socket>();

  private connect(socket: Socket, service: string, port: number): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const [namespace = '', name = ''] = service.split('/');
    const target = this.ctx.state?.config.outbound.services.find((s) => s.namespace === namespace && s.name === name);
    forwardOutboundTcp(this.ctx, socket, { namespace, name }, target?.ports.find((p) => p.port === port));
  }

  close(): void {
    for (const { server } of this.listeners.values()) server.close();
    for (const socket of this.sockets) socket.destroy();
    this.listeners.clear();
  }
}
