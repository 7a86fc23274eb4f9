/**
 * The inbound datagram relay: a pod's UDP ports under access control. The pod's capture sends
 * each captured UDP port's datagrams to a relay port of its own (`--inbound-udp 9093:15300`),
 * so the relay knows the application port by the socket a datagram arrived on and the caller
 * by its source address; the capture's connection tracking makes the answers leave from the
 * application's port again.
 *
 * A datagram carries no certificate. In a strict namespace its source address stands for its
 * identity: only the addresses of pods whose identity a UDP rule names (`datagramSources`)
 * are anyone, and the rule must allow that identity on that port. Everything else is dropped
 * and counted (UDP has no refusal). In a permissive namespace every datagram passes.
 *
 * Each caller (address and port) gets a session: a socket of its own towards the application,
 * so the application's answers find their way back. Sessions end after IDLE_MS without a
 * datagram either way; at most MAX_SESSIONS per port, so a flood of new source ports cannot
 * take the sidecar's memory or file descriptors.
 */
import dgram, { type RemoteInfo, type Socket } from 'node:dgram';
import type { ProxyState } from './state.ts';

export const IDLE_MS = 30_000;
export const MAX_SESSIONS = 1024;

export type DatagramResult = 'relayed' | 'denied' | 'no-port' | 'overflow' | 'answered';

export interface DatagramRelayOptions {
  /** Application port → the relay port the capture sends its datagrams to. */
  ports: ReadonlyMap<number, number>;
  /** Where the relay ports listen (the pod's every address: '0.0.0.0'). */
  host: string;
  /** Where the application listens. */
  appHost: string;
  state: () => ProxyState | undefined;
  count: (port: number, result: DatagramResult) => void;
  idleMs?: number;
  maxSessions?: number;
}

interface Session {
  socket: Socket;
  lastSeen: number;
}

class PortRelay {
  readonly sessions = new Map<string, Session>();
  readonly socket: Socket;
  /** The application's port this relay carries. */
  readonly port: number;
  private readonly options: DatagramRelayOptions;

  constructor(options: DatagramRelayOptions, port: number) {
    this.options = options;
    this.port = port;
    this.socket = dgram.createSocket('udp4');
    this.socket.on('message', (message, from) => this.receive(message, from));
    this.socket.on('error', () => undefined);
  }

  private receive(message: Buffer, from: RemoteInfo): void {
    const state = this.options.state();
    if (!state || !state.datagramPorts.has(this.port)) return this.options.count(this.port, 'no-port');
    // Decided again for every datagram: a config that takes the permission away ends the flow.
    if (!state.decide(state.datagramIdentity(from.address), this.port, 'udp').allowed) return this.options.count(this.port, 'denied');
    const key = `${from.address}|${from.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      if (this.sessions.size >= (this.options.maxSessions ?? MAX_SESSIONS)) return this.options.count(this.port, 'overflow');
      session = this.open(from);
      this.sessions.set(key, session);
    }
    session.lastSeen = Date.now();
    session.socket.send(message, this.port, this.options.appHost);
    this.options.count(this.port, 'relayed');
  }

  private open(caller: RemoteInfo): Session {
    const socket = dgram.createSocket('udp4');
    const session: Session = { socket, lastSeen: Date.now() };
    socket.on('message', (answer, from) => {
      // Only the application's answers go back to the caller.
      if (from.port !== this.port) return;
      session.lastSeen = Date.now();
      this.socket.send(answer, caller.port, caller.address);
      this.options.count(this.port, 'answered');
    });
    socket.on('error', () => undefined);
    return session;
  }

  /** Ends sessions idle since `before`. */
  sweep(before: number): void {
    for (const [key, session] of this.sessions) {
      if (session.lastSeen >= before) continue;
      session.socket.close();
      this.sessions.delete(key);
    }
  }

  close(): void {
    this.sweep(Infinity);
    this.socket.close();
  }
}

export class DatagramRelay {
  private readonly options: DatagramRelayOptions;
  private readonly relays: PortRelay[] = [];
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: DatagramRelayOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    for (const [app, relayPort] of this.options.ports) {
      const relay = new PortRelay(this.options, app);
      await new Promise<void>((resolve, reject) => {
        relay.socket.once('error', reject);
        relay.socket.bind(relayPort, this.options.host, () => {
          relay.socket.off('error', reject);
          resolve();
        });
      });
      this.relays.push(relay);
    }
    const idle = this.options.idleMs ?? IDLE_MS;
    if (this.relays.length > 0) this.sweeper = setInterval(() => this.sweep(Date.now() - idle), Math.max(10, idle / 2)).unref();
  }

  sweep(before: number): void {
    for (const relay of this.relays) relay.sweep(before);
  }

  /** Open sessions per application port (for /stats and tests). */
  sessions(): Map<number, number> {
    return new Map(this.relays.map((r) => [r.port, r.sessions.size]));
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const relay of this.relays) relay.close();
    this.relays.length = 0;
  }
}
