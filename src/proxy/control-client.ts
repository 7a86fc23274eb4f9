/**
 * The sidecar's side of the control plane: a ConfigSource fed by the config stream, and the
 * keeper of the workload certificate.
 *
 * - Certificate: kept by certificate-keeper.ts (a CSR proven by the certificate or the token
 *   file; renewed at two thirds of its life); a new one resets the agent and wakes the stream.
 * - Config: one long-lived Server-Sent Events stream; on reconnect (exponential backoff with
 *   jitter) it says which version it has, so nothing is resent needlessly. If the control plane
 *   is gone, the proxy keeps serving with what it has.
 * - On demand: the stream says the proxy resolves on demand, so its config holds only the
 *   Services it subscribed to. Subscriptions go on the stream's own HTTP/2 connection (one
 *   undici Client, so the same replica); a new stream first re-sends every Service subscribed
 *   so far (versioned resumption: the version it has is then usually current and nothing is sent).
 */
import { EventEmitter } from 'node:events';
import { Agent, Client, EventSource, request } from 'undici';
import { applyDelta, checkSubscribeAnswer, CONFIG_EVENT, DELTA_EVENT, type ConfigDelta, type ProxyConfig, type Ack, type Subscribe, type SubscribeAnswer, type TrafficReport, type TrafficSeries } from '../config/index.ts';
import { ShortenableWait } from '../lib/backoff.ts';
import type { ConfigSource, ConfigSourceEvents } from './config-source.ts';
import { CertificateKeeper, controlPlaneBackoff } from './certificate-keeper.ts';
import { AckChannel } from './ack-channel.ts';

export interface ControlClientOptions {
  /** `https://host:port` of the control plane. */
  url: string;
  proxyId: string;
  certDir: string;
  /** Trust bundle to verify the control plane with (PEM). */
  trustBundle: string;
  /** The file holding the token that proves the proxy's identity while it has no valid certificate; read each time it is needed. */
  bootstrapTokenFile?: string;
  /** Called after a new certificate was written, so the proxy loads it at once. */
  onCertificate?: () => void;
  /** The proxy forwards TCP through listeners of its own (no capture): it needs every TCP Service up front. */
  forwardsTcp?: boolean;
  log?: (event: string, detail: Record<string, unknown>) => void;
}

const SUBSCRIBE_TIMEOUT_MS = 2000;

/** The longest backoff while a question waits for the stream: a quarter to a half of its bound. */
const questionWait = () => (SUBSCRIBE_TIMEOUT_MS / 4) * (1 + Math.random());

export class ControlClient extends EventEmitter<ConfigSourceEvents> implements ConfigSource {
  private readonly options: ControlClientOptions;
  private agent: Agent | undefined;
  private stopped = false;
  private haveHash: string | undefined;
  private stream: EventSource | undefined;
  /** The stream's connection (HTTP/2): subscriptions travel on it. */
  private channel: Client | undefined;
  /** Acks as lines of one request on that connection, once the control plane took it. */
  private acks: AckChannel | undefined;
  /** Services subscribed to so far, re-sent on every new stream. */
  private readonly subscribed = new Set<string>();
  /** The last config received (applied or not): what the next delta applies to. */
  private received: ProxyConfig | undefined;
  connected = false;
  /** Questions waiting for a stream to open (a reconnect in progress). */
  private readonly awaitingStream = new Set<() => void>();
  private readonly certificate: CertificateKeeper;

  constructor(options: ControlClientOptions) {
    super();
    this.options = options;
    this.certificate = new CertificateKeeper({
      url: options.url, proxyId: options.proxyId, certDir: options.certDir, trustBundle: options.trustBundle,
      ...(options.bootstrapTokenFile ? { bootstrapTokenFile: options.bootstrapTokenFile } : {}),
      dispatcher: () => this.dispatcher(),
      log: (event, detail) => this.log(event, detail),
      renewed: () => {
        this.resetAgent();
        // A stream refused for want of a valid certificate is tried again now, not after its backoff.
        if (!this.connected) this.reconnectWait.shorten(0);
        this.options.onCertificate?.();
      },
    });
  }

  private log(event: string, detail: Record<string, unknown> = {}): void {
    this.options.log?.(event, detail);
  }

  /**
   * The agent for every request to the control plane, with the certificate held in memory:
   * never re-read from the folder, where a renewal may be halfway through replacing the files.
   */
  private async dispatcher(): Promise<Agent> {
    this.agent ??= new Agent({ connect: this.tlsOptions(), keepAliveTimeout: 30_000 });
    return this.agent;
  }

  /** The stream's own connection (the replica that streams to this proxy), else the shared agent. */
  private async streamReplica(): Promise<Client | Agent> {
    return this.channel ?? this.dispatcher();
  }

  private tlsOptions(): ReturnType<CertificateKeeper['tlsOptions']> {
    return this.certificate.tlsOptions();
  }

  private resetAgent(): void {
    const old = this.agent;
    this.agent = undefined;
    void old?.close().catch(() => undefined);
  }

  /** When the certificate held expires. */
  get certificateNotAfter(): Date | undefined {
    return this.certificate.notAfter;
  }

  /** Requests a certificate now (certificate-keeper.ts). */
  renewCertificate(): Promise<void> {
    return this.certificate.renew();
  }

  async start(): Promise<void> {
    await this.certificate.load();
    void this.streamLoop();
  }

  private async streamLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped;) {
      try {
        await this.streamOnce();
        attempt = 0;
      } catch (err) {
        if (this.stopped) return;
        this.log('stream-error', { error: (err as Error).message, attempt });
      }
      this.connected = false;
      if (this.stopped) return;
      const wait = controlPlaneBackoff(attempt++);
      await this.reconnectWait.wait(this.awaitingStream.size > 0 ? Math.min(wait, questionWait()) : wait);
      if (attempt > 3) this.resetAgent();
    }
  }

  /**
   * One config stream: undici's EventSource over the mTLS agent. Any error ends it (the loop
   * reconnects with backoff and jitter, naming the version it has); a stream that never
   * opened is asked once more with a plain request, to report why it was refused.
   */
  private async streamOnce(): Promise<void> {
    const dispatcher = new Client(this.options.url, { allowH2: true, connect: this.tlsOptions(), keepAliveTimeout: 60_000 });
    this.channel = dispatcher;
    const acks = new AckChannel(dispatcher, this.options.url, this.options.proxyId, (event, detail) => this.log(event, detail));
    this.acks = acks;
    try {
      // Resumption: this replica learns what the proxy subscribed to before the stream starts.
      if (this.subscribed.size > 0) await this.postSubscribe(dispatcher, { proxy: this.options.proxyId, services: [...this.subscribed] });
      await this.streamOn(dispatcher);
    } finally {
      if (this.channel === dispatcher) this.channel = undefined;
      if (this.acks === acks) this.acks = undefined;
      acks.close();
      void dispatcher.close().catch(() => undefined);
    }
  }

  private async postSubscribe(dispatcher: Client, body: Subscribe): Promise<SubscribeAnswer> {
    const res = await request(`${this.options.url}/v1/subscribe`, {
      method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      headersTimeout: SUBSCRIBE_TIMEOUT_MS, bodyTimeout: SUBSCRIBE_TIMEOUT_MS,
    });
    const answer: unknown = await res.body.json().catch(() => undefined);
    const checked = checkSubscribeAnswer(answer);
    if (res.statusCode !== 200 || !checked.ok) {
      const reason = (answer as { error?: unknown } | undefined)?.error;
      throw new Error(`subscription refused (${res.statusCode}): ${typeof reason === 'string' ? reason : checked.ok ? 'no answer' : checked.problem}`);
    }
    return checked.value;
  }

  /**
   * Asks the control plane for hosts the application called that the config does not hold:
   * per host the Service it names (now in the config version `hash`, sent on the stream), or
   * null. During a reconnect it waits for the stream (up to the subscription timeout); rejects
   * when none opens (the control plane is away) or it does not answer in time.
   */
  async subscribe(hosts: string[]): Promise<SubscribeAnswer> {
    if (!this.connected) await this.streamOpened(SUBSCRIBE_TIMEOUT_MS);
    const channel = this.channel;
    if (!channel || !this.connected) throw new Error('no config stream to the control plane');
    const answer = await this.postSubscribe(channel, { proxy: this.options.proxyId, hosts });
    for (const key of answer.hosts) if (key !== null) this.subscribed.add(key);
    return answer;
  }

  /** The stream loop's wait before its next attempt. */
  private readonly reconnectWait = new ShortenableWait();

  /**
   * Waits up to `ms` for a stream to open: a question asked during a reconnect (or before the
   * first stream) waits for it. The application is waiting, so while a question waits the
   * backoff is at most 0.5–1 s (jittered): after a long outage a proxy tries again within the
   * question's bound instead of up to 5 s later; only proxies whose applications call
   * something new do.
   */
  private streamOpened(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.reconnectWait.shorten(questionWait());
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.awaitingStream.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.awaitingStream.add(wake);
    });
  }

  /** Drops Services from what the proxy is sent; they are forgotten here even if the control plane is away (a new stream re-sends only what is left). */
  async unsubscribe(services: string[]): Promise<void> {
    for (const key of services) this.subscribed.delete(key);
    const channel = this.channel;
    if (!channel || !this.connected) return;
    await this.postSubscribe(channel, { proxy: this.options.proxyId, drop: services });
  }

  subscriptions(): ReadonlySet<string> {
    return this.subscribed;
  }

  private async streamOn(dispatcher: Client): Promise<void> {
    const url = `${this.options.url}/v1/config?proxy=${encodeURIComponent(this.options.proxyId)}${this.haveHash ? `&have=${this.haveHash}` : ''}&demand=1${this.options.forwardsTcp ? '&tcp=1' : ''}&udp=1&deltas=1`;
    let opened = false;
    await new Promise<void>((_resolve, reject) => {
      const source = new EventSource(url, { node: { dispatcher } });
      this.stream = source;
      source.addEventListener('open', () => {
        opened = true;
        this.connected = true;
        this.log('stream-connected', { have: this.haveHash ?? null });
        for (const wake of this.awaitingStream) wake();
        this.awaitingStream.clear();
      });
      source.addEventListener(CONFIG_EVENT, (event) => {
        this.received = undefined;
        try {
          const config: unknown = JSON.parse(String((event as MessageEvent).data));
          this.received = config as ProxyConfig;
          this.emit('config', config);
        } catch (err) {
          this.emit('error', new Error(`the control plane sent unreadable JSON: ${(err as Error).message}`));
        }
      });
      source.addEventListener(DELTA_EVENT, (event) => {
        let result: ReturnType<typeof applyDelta>;
        try {
          const delta = JSON.parse(String((event as MessageEvent).data)) as ConfigDelta;
          result = this.received ? applyDelta(this.received, delta) : { problem: 'no config to apply a delta to' };
        } catch (err) {
          result = { problem: `unreadable JSON: ${(err as Error).message}` };
        }
        if ('config' in result) {
          this.received = result.config;
          this.emit('config', result.config);
          return;
        }
        // Out of step: start over with the whole config (a new stream that names no version).
        this.log('delta-refused', { problem: result.problem });
        this.received = undefined;
        this.haveHash = undefined;
        source.close();
        reject(new Error(`config delta refused: ${result.problem}`));
      });
      source.addEventListener('error', () => {
        source.close();
        reject(new Error('the config stream ended'));
      });
    }).catch(async (err: Error) => {
      if (opened || this.stopped) throw err;
      const res = await request(url, { dispatcher, headersTimeout: 5000, bodyTimeout: 5000 }).catch((e: Error) => e);
      if (res instanceof Error) throw new Error(`config stream: ${res.message}`);
      const text = res.statusCode === 200 ? '' : await res.body.text();
      if (res.statusCode === 200) await res.body.destroy();
      throw new Error(`config stream refused (${res.statusCode}): ${text.slice(0, 200)}`);
    });
  }

  /**
   * Acknowledges a config (applied, or refused with the error) on the stream's own connection:
   * the replica that computed the config must hear it. (Another connection may lead, through
   * the controller's Service, to another replica, which would count the version while the one
   * streaming never learns it was applied, and never tells the status writer what the proxy
   * subscribed to.) A line on the ack stream when it is open (ack-channel.ts); else a request,
   * on the stream's connection, or without a stream on the shared agent.
   */
  report(result: { hash?: string; error?: string }): void {
    if (result.hash) this.haveHash = result.hash;
    const ack: Ack = { proxy: this.options.proxyId, ...result };
    if (this.acks?.send(ack)) return;
    void (async () => {
      try {
        const res = await request(`${this.options.url}/v1/ack`, {
          method: 'POST', dispatcher: await this.streamReplica(), headers: { 'content-type': 'application/json' },
          body: JSON.stringify(ack),
        });
        await res.body.dump();
      } catch {
        // Acks are best effort; the next config or reconnect reports again.
      }
    })();
  }

  /**
   * Posts one interval's traffic in parts of about 256 KiB of JSON (the server takes 1 MiB), to
   * the streaming replica: it keeps the proxy while it streams, even once its pod left (a Job's last report).
   */
  async reportTraffic(series: TrafficSeries[]): Promise<void> {
    const parts: TrafficSeries[][] = [[]];
    let size = 0;
    for (const s of series) {
      const bytes = 64 + s.latency.length * 12;
      if (size + bytes > 256 * 1024 && parts[parts.length - 1]?.length) {
        parts.push([]);
        size = 0;
      }
      parts[parts.length - 1]?.push(s);
      size += bytes;
    }
    for (const [i, part] of parts.entries()) {
      try {
        const res = await request(`${this.options.url}/v1/traffic`, {
          method: 'POST', dispatcher: await this.streamReplica(), headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ proxy: this.options.proxyId, series: part } satisfies TrafficReport), headersTimeout: 5000, bodyTimeout: 5000,
        });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`traffic report refused (${res.statusCode})`);
      } catch (err) {
        // Parts already delivered are not sent again; the caller keeps the rest for the next report.
        throw Object.assign(err as Error, { undelivered: parts.slice(i).flat() });
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const wake of [...this.awaitingStream]) wake();
    this.reconnectWait.end();
    this.certificate.stop();
    this.stream?.close();
    this.acks?.close();
    void this.channel?.close().catch(() => undefined);
    this.resetAgent();
  }
}
