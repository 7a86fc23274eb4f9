/**
 * The sidecar, wired: a config source and the TLS files feed an immutable ProxyState that
 * is swapped atomically; the inbound, outbound, TCP and admin listeners read it. A bad
 * config or certificate is refused, reported (log, metric, /config) and the last good one
 * stays in force; the proxy never exits because of input.
 */
import { AppPortChecker } from './app-probe.ts';
import type { AddressInfo, Server, Socket } from 'node:net';
import { checkProxyConfig, REPORT_INTERVAL_MS, type ProxyStats, type RoutePolicy, type TrafficSeries } from '../config/index.ts';
import type { FastifyInstance } from 'fastify';
import { createAdmin } from './admin.ts';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from './limits.ts';
import type { ConfigSource } from './config-source.ts';
import type { ProxyContext } from './context.ts';
import { acceptCapturedOutbound, acceptOutbound } from './captured.ts';
import type { ServerResponse } from 'node:http';
import { createFrontend, enforceTimeoutsWithoutListening, type Frontend, type ProxiedRequest } from './frontend.ts';
import { acceptInbound, handleInbound } from './inbound.ts';
import { handleOutbound } from './outbound.ts';
import { OnDemandResolver } from './on-demand.ts';
import { boundsFor, cgroupMemoryLimit, InFlightRequests, type Direction, type MemoryBounds } from './overload.ts';
import { InboundRateLimits } from './rate-limits.ts';
import { RetryBudget } from './resilience.ts';
import { compileState, type ProxyState } from './state.ts';
import { DatagramRelay } from './udp-relay.ts';
import { TcpForwards } from './tcp.ts';
import { Telemetry, type AccessLogOptions } from './telemetry.ts';
import { TlsMaterialWatcher, type TlsMaterial } from './tls-material.ts';
import { Upstreams } from './upstream.ts';

/** How long a closing proxy waits for its last traffic report to be taken (on its open stream, a few ms). */
const FINAL_REPORT_WAIT_MS = 3000;

export interface Listen {
  host: string;
  port: number;
}

export interface ProxyOptions {
  config: ConfigSource;
  /** Folder with cert.pem, key.pem and ca.pem; without it the proxy speaks only plaintext. */
  certDir?: string;
  /** Mesh inbound: the pod's address (other sidecars and plaintext callers reach it). */
  inbound: Listen;
  /** The application's outbound listener: loopback only in a pod, or any pod could borrow this one's identity. */
  outbound: Listen;
  /** Full admin (/config, /stats, …): loopback only. */
  admin: Listen;
  /** /ready, /live and /metrics for probes and Prometheus; absent: not served apart from admin. */
  health?: Listen;
  /** Timeouts and connection caps of the listeners; defaults in limits.ts. */
  limits?: Partial<ListenerLimits>;
  /**
   * The memory the sidecar may use, in bytes, which bounds its requests in flight and the
   * connections each listener holds (overload.ts); absent: its memory cgroup's limit; null: no bound.
   */
  memoryLimitBytes?: number | null;
  /** Where the application listens (its ports are the inbound target ports). */
  appHost: string;
  /** Address for outbound TCP forward listeners; absent: none. */
  tcpForwardHost?: string;
  /** iptables sends the pod's traffic here (capture.ts): the outbound listener reads each connection's original destination. */
  capture?: boolean;
  /** `port:path` of the application's HTTP probes, let through without identity. */
  probePaths?: readonly string[];
  /** The application's ports whose tcpSocket probes the injector sent to the health port (app-probe.ts). */
  probeTcpPorts?: readonly number[];
  /** Captured UDP ports: application port → the relay port the capture sends them to (udp-relay.ts). */
  inboundUdp?: ReadonlyMap<number, number>;
  accessLog?: AccessLogOptions;
  /** How long a Service subscribed on demand may go uncalled before it is dropped (default 10 min). */
  onDemandIdleMs?: number;
  /** How often traffic is reported to the control plane (default REPORT_INTERVAL_MS; tests shorten it). */
  trafficReportMs?: number;
  log?: (event: string, detail: Record<string, unknown>) => void;
}

export class SkiffProxy implements ProxyContext {
  state: ProxyState | undefined;
  readonly telemetry: Telemetry;
  readonly mesh: Upstreams;
  readonly app: Upstreams;
  readonly appHost: string;
  readonly capture: boolean;
  readonly probePaths: ReadonlySet<string>;
  readonly appPorts: AppPortChecker;
  readonly rateLimits = new InboundRateLimits();
  readonly counters = { inboundAllowed: 0, inboundDenied: 0 };
  /** From the memory limit (overload.ts); undefined: no limit known, no bound. */
  readonly memoryBounds: MemoryBounds | undefined;
  readonly inFlight: InFlightRequests | undefined;
  readonly onDemand: OnDemandResolver | undefined;
  private readonly options: ProxyOptions;
  private readonly certs: TlsMaterialWatcher | undefined;
  private readonly budgets = new Map<string, RetryBudget>();
  private tcp: TcpForwards | undefined;
  private datagrams: DatagramRelay | undefined;
  private servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private frontends: Frontend[] = [];
  private admins: FastifyInstance[] = [];
  private configError: string | undefined;
  private appliedAt: string | undefined;
  private configs = { applied: 0, rejected: 0 };
  private trafficTimer: NodeJS.Timeout | undefined;

  constructor(options: ProxyOptions) {
    this.options = options;
    this.appHost = options.appHost;
    this.capture = options.capture ?? false;
    this.probePaths = new Set(options.probePaths ?? []);
    this.appPorts = new AppPortChecker(options.appHost, options.probeTcpPorts ?? []);
    this.telemetry = new Telemetry(options.accessLog);
    const memoryLimit = options.memoryLimitBytes === undefined ? cgroupMemoryLimit() : options.memoryLimitBytes ?? undefined;
    this.memoryBounds = memoryLimit === undefined ? undefined : boundsFor(memoryLimit);
    this.inFlight = this.memoryBounds ? new InFlightRequests(this.memoryBounds.maxInFlight) : undefined;
    if (this.inFlight) this.telemetry.watchInFlight(this.inFlight);
    this.certs = options.certDir ? new TlsMaterialWatcher(options.certDir) : undefined;
    this.mesh = new Upstreams(() => this.tls);
    this.app = new Upstreams(() => undefined);
    const source = options.config;
    const subscribe = source.subscribe?.bind(source);
    this.onDemand = subscribe ? new OnDemandResolver({
      subscribe, state: () => this.state, observe: (result, seconds, host) => {
        this.telemetry.resolved(result, seconds);
        // The control plane did not answer in time: the request got 502, a captured connection went its own way.
        if (result === 'failed') this.log('on-demand-failed', { host, ms: Math.round(seconds * 1000) });
      },
      ...(source.unsubscribe && source.subscriptions ? { unsubscribe: source.unsubscribe.bind(source), subscriptions: source.subscriptions.bind(source) } : {}),
      ...(options.onDemandIdleMs !== undefined ? { idleMs: options.onDemandIdleMs } : {}),
    }) : undefined;
  }

  get tls(): TlsMaterial | undefined {
    return this.certs?.current;
  }

  budget(cluster: string, retry: RoutePolicy['retry']): RetryBudget {
    let budget = this.budgets.get(cluster);
    if (!budget) {
      budget = new RetryBudget(retry.budgetPercent, retry.minPerSecond);
      this.budgets.set(cluster, budget);
    } else {
      budget.configure(retry.budgetPercent, retry.minPerSecond);
    }
    return budget;
  }

  private log(event: string, detail: Record<string, unknown>): void {
    this.options.log?.(event, detail);
  }

  /** Validates, compiles and swaps in a config; refuses it (keeping the old one) when it is bad. */
  applyConfig(raw: unknown): { ok: boolean; error?: string } {
    const checked = checkProxyConfig(raw);
    if (!checked.ok) {
      this.configError = checked.problems.join('; ');
      this.configs.rejected++;
      this.telemetry.configUpdates.labels({ result: 'rejected' }).inc();
      this.log('config-rejected', { problems: checked.problems });
      this.options.config.report?.({ error: this.configError });
      return { ok: false, error: this.configError };
    }
    const config = checked.config;
    if (config.hash === this.state?.config.hash) {
      this.configError = undefined;
      this.options.config.report?.({ hash: config.hash });
      return { ok: true };
    }
    let next: ProxyState;
    try {
      next = compileState(config, this.mesh, this.state);
    } catch (err) {
      this.configError = `cannot compile: ${(err as Error).message}`;
      this.configs.rejected++;
      this.options.config.report?.({ error: this.configError });
      return { ok: false, error: this.configError };
    }
    if (this.state && this.state.config.hash !== config.hash) this.telemetry.configInfo.remove({ hash: this.state.config.hash });
    this.state = next;
    this.configError = undefined;
    this.appliedAt = new Date().toISOString();
    this.configs.applied++;
    this.telemetry.configInfo.set({ hash: config.hash }, 1);
    this.telemetry.configUpdates.labels({ result: 'applied' }).inc();
    this.rateLimits.retain(config.inbound.ports);
    for (const name of this.budgets.keys()) if (!next.clusters.has(name)) this.budgets.delete(name);
    void this.tcp?.sync(config.outbound.services);
    this.onDemand?.stateChanged();
    this.log('config-applied', { hash: config.hash });
    this.options.config.report?.({ hash: config.hash });
    return { ok: true };
  }

  /** Re-reads the certificate folder now (the control client calls this after writing a new certificate). */
  reloadCertificates(): void {
    void this.certs?.reload();
  }

  readinessProblems(): string[] {
    const problems: string[] = [];
    if (!this.state) problems.push(this.configError ? `no good config yet: ${this.configError}` : 'no config yet');
    if (this.certs && !this.certs.current) problems.push(`no certificate yet${this.certs.lastError ? `: ${this.certs.lastError}` : ''}`);
    return problems;
  }

  configReport(): Record<string, unknown> {
    return { hash: this.state?.config.hash ?? null, appliedAt: this.appliedAt ?? null, lastError: this.configError ?? null, counts: this.configs, config: this.state?.config ?? null };
  }

  stats(): ProxyStats {
    return {
      config: { hash: this.state?.config.hash ?? null, ...this.configs, lastError: this.configError ?? null },
      certificate: this.tls ? { identity: this.tls.identity, notAfter: this.tls.notAfter.toISOString(), generation: this.tls.generation, lastError: this.certs?.lastError ?? null } : null,
      inbound: { ...this.counters },
      clusters: [...(this.state?.clusters.values() ?? [])].map((c) => ({ name: c.config.name, active: c.counters.active, requests: c.counters.requests, endpoints: c.endpoints.length })),
      endpoints: this.mesh.snapshot(),
      tcpForwardConflicts: this.tcp?.conflicts ?? [],
    };
  }

  /**
   * Loads the certificate and config, then listens. A start that fails part-way (a port in
   * use, say) closes what it had opened, so no watcher or listener outlives it.
   */
  async start(): Promise<{ inbound: AddressInfo; outbound: AddressInfo; admin: AddressInfo; health?: AddressInfo }> {
    try {
      return await this.open();
    } catch (err) {
      await this.close().catch(() => undefined);
      throw err;
    }
  }

  private async open(): Promise<{ inbound: AddressInfo; outbound: AddressInfo; admin: AddressInfo; health?: AddressInfo }> {
    if (this.certs) {
      this.certs.on('rotated', (m) => {
        this.telemetry.certificateExpiry.set(m.notAfter.getTime() / 1000);
        this.log('certificate-loaded', { identity: m.identity, notAfter: m.notAfter.toISOString(), generation: m.generation });
      });
      // Files not there before the first certificate is the normal start (the control client is asking for it): not a problem.
      this.certs.on('rejected', (err: Error & { code?: string }) => this.log(this.certs?.current === undefined && err.code === 'ENOENT' ? 'certificate-awaited' : 'certificate-rejected', { error: err.message }));
      await this.certs.start();
    }
    const source = this.options.config;
    source.on('config', (raw) => this.applyConfig(raw));
    source.on('error', (err) => {
      this.configError = err.message;
      this.configs.rejected++;
      this.telemetry.configUpdates.labels({ result: 'rejected' }).inc();
      this.log('config-source-error', { error: err.message });
    });
    const limits: ListenerLimits = { ...DEFAULT_LISTENER_LIMITS, ...this.options.limits };
    // Under a memory limit every request is admitted against the in-flight bound first.
    const inFlight = this.inFlight;
    const admitted = (listener: Direction, handle: typeof handleOutbound) => inFlight
      ? (req: ProxiedRequest, res: ServerResponse) => { if (inFlight.admit(req, res, listener)) handle(this, req, res); }
      : (req: ProxiedRequest, res: ServerResponse) => handle(this, req, res);
    const outboundFront = await createFrontend(admitted('outbound', handleOutbound), limits);
    const inboundFront = await createFrontend(admitted('inbound', handleInbound), limits);
    const bounded = (max: number | undefined): ListenerLimits => max === undefined ? limits : { ...limits, maxConnections: Math.min(limits.maxConnections, max) };
    const inboundLimits = bounded(this.memoryBounds?.maxInboundConnections);
    const outboundLimits = bounded(this.memoryBounds?.maxOutboundConnections);
    this.frontends = [outboundFront, inboundFront];
    if (this.options.tcpForwardHost) this.tcp = new TcpForwards(this, this.options.tcpForwardHost, outboundLimits.maxConnections);
    await source.start();
    const inboundServer = acceptInbound(this, inboundFront, inboundLimits);
    this.servers = [inboundServer];
    const listen = (server: Server, at: Listen) => new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => resolve(server.address() as AddressInfo));
    });
    const inbound = await listen(inboundServer, this.options.inbound);
    let outboundPort = this.options.outbound.port;
    const outboundServer = this.capture ? acceptCapturedOutbound(this, outboundFront, outboundLimits, () => outboundPort) : acceptOutbound(this, outboundFront, outboundLimits);
    this.servers.push(outboundServer);
    if (this.memoryBounds) this.log('memory-bounds', { limitMiB: Math.round(this.memoryBounds.limitBytes / 2 ** 20), maxInFlight: this.memoryBounds.maxInFlight, maxInboundConnections: inboundLimits.maxConnections, maxOutboundConnections: outboundLimits.maxConnections });
    enforceTimeoutsWithoutListening(outboundFront);
    // Every accepted connection, HTTP/1.1 or HTTP/2, is ended on close.
    for (const server of [inboundServer, outboundServer]) {
      server.on('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      });
    }
    const outbound = await listen(outboundServer, this.options.outbound);
    outboundPort = outbound.port;
    const admin = await createAdmin(this, 'full');
    this.admins.push(admin);
    await admin.listen({ host: this.options.admin.host, port: this.options.admin.port });
    let health: AddressInfo | undefined;
    if (this.options.health) {
      const healthApp = await createAdmin(this, 'health');
      this.admins.push(healthApp);
      await healthApp.listen({ host: this.options.health.host, port: this.options.health.port });
      health = healthApp.server.address() as AddressInfo;
    }
    if (this.options.inboundUdp && this.options.inboundUdp.size > 0) {
      this.datagrams = new DatagramRelay({
        ports: this.options.inboundUdp, host: this.options.inbound.host, appHost: this.appHost, state: () => this.state,
        count: (port, result) => this.telemetry.countDatagram(port, result),
      });
      await this.datagrams.start();
    }
    if (source.reportTraffic) {
      this.trafficTimer = setInterval(() => void this.reportTraffic(), this.options.trafficReportMs ?? REPORT_INTERVAL_MS);
      this.trafficTimer.unref();
    }
    if (this.state) void this.tcp?.sync(this.state.config.outbound.services);
    return { inbound, outbound, admin: admin.server.address() as AddressInfo, ...(health ? { health } : {}) };
  }

  /** One interval's traffic to the control plane; what could not be delivered goes with the next. */
  private async reportTraffic(): Promise<void> {
    const series = this.telemetry.traffic.drain();
    if (series.length === 0) return;
    try {
      await this.options.config.reportTraffic?.(series);
    } catch (err) {
      this.telemetry.traffic.restore((err as { undelivered?: TrafficSeries[] }).undelivered ?? series);
      this.log('traffic-report-failed', { error: (err as Error).message, series: series.length });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.trafficTimer);
    // The last partial interval (a short Job's whole traffic), if the control plane answers
    // within FINAL_REPORT_WAIT_MS; a shutdown waits no longer than that for it.
    if (this.trafficTimer) await Promise.race([this.reportTraffic(), new Promise((r) => setTimeout(r, FINAL_REPORT_WAIT_MS).unref())]);
    this.options.config.stop();
    this.onDemand?.stop();
    this.certs?.stop();
    this.tcp?.close();
    this.datagrams?.stop();
    this.telemetry.stop();
    const closed = Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    for (const f of this.frontends) f.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await Promise.all(this.admins.map((a) => a.close()));
    await Promise.all([this.mesh.close(), this.app.close()]);
  }
}
