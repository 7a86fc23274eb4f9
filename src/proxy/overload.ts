/**
 * What a sidecar may hold at once, from the memory its container may use.
 *
 * Each connection and request in flight costs memory the sidecar cannot shrink, most of it
 * native (OpenSSL keeps ~60 KB per mTLS connection; Node's sockets and parsers the rest).
 * Measured under a 1 s slow backend (docs/performance.md): ~140 KB per request in flight on the
 * calling side (the application's connection, the mTLS connection upstream, the request's
 * state), ~86 KB on the serving side, above ~55 MB for the process itself under load. With no
 * bound, 1,000 concurrent calls to a slow Service took a sidecar past its 128 MiB limit in under
 * two seconds and the kernel killed it, and with it every request of the pod. With these bounds
 * it answers the excess 503 `overloaded` (a calling sidecar retries that on another endpoint and
 * outlier detection counts it), closes connections beyond its share at accept, and lives.
 *
 * The limit is read from the process's memory cgroup (v2 `memory.max`, v1
 * `memory.limit_in_bytes`, the lowest along its path): the container's limit in a pod, none
 * in local mode or on a developer's machine, where nothing changes.
 */
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ProxiedRequest } from './frontend.ts';
import { sendGenerated } from './generated.ts';
import { UPGRADE } from './upgrade.ts';

/** What the process needs besides its connections and requests, under load (measured ~55 MB, with room). */
export const RESERVED_MIB = 64;
/**
 * How the rest is shared, and what each unit costs (measured, rounded up). A request in flight
 * is bounded in each direction on its own, and the share pays for one in each direction at
 * once: calling out ~120 KB (its mTLS connection upstream and its state), serving ~30 KB (its
 * connection to the application and its state); the connections the listeners accept have
 * their own shares: an inbound mTLS connection, idle or not, ~64 KB; an application's plaintext
 * connection to the outbound listener ~20-30 KB while it carries a request. Each is bounded on
 * its own, so all of them full at once still fit.
 */
export const SHARES = {
  inFlight: { share: 0.45, kib: 152 },
  inboundConnections: { share: 0.35, kib: 64 },
  outboundConnections: { share: 0.2, kib: 24 },
} as const;
/** Cgroup limits at or above this mean "no limit" (v1 writes 2^63 rounded down to a page). */
const UNLIMITED_BYTES = 2 ** 50;

export interface MemoryBounds {
  /** The memory limit the bounds come from, in bytes. */
  limitBytes: number;
  /** Requests in flight through each listener (inbound, and outbound on its own); beyond, 503 `overloaded`. */
  maxInFlight: number;
  /** Connections the inbound listener holds; beyond, closed at accept. */
  maxInboundConnections: number;
  /** Connections the application's outbound listener holds; beyond, closed at accept. */
  maxOutboundConnections: number;
}

/** The bounds for a memory limit in bytes (each at least 32, so a tiny limit still serves). */
export function boundsFor(limitBytes: number): MemoryBounds {
  const spareKiB = Math.max(limitBytes / 2 ** 20 - RESERVED_MIB, 8) * 1024;
  const units = ({ share, kib }: { share: number; kib: number }) => Math.max(32, Math.floor((spareKiB * share) / kib));
  return {
    limitBytes,
    maxInFlight: units(SHARES.inFlight),
    maxInboundConnections: units(SHARES.inboundConnections),
    maxOutboundConnections: units(SHARES.outboundConnections),
  };
}

type ReadText = (path: string) => string | undefined;
const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The memory limit of this process's cgroup in bytes (the lowest along its path, the mount's
 * root included: a container sees its own cgroup there), or undefined when there is none.
 */
export function cgroupMemoryLimit(read: ReadText = readText): number | undefined {
  const limits: number[] = [];
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    const v2 = controllers === '';
    if (!v2 && !controllers?.split(',').includes('memory')) continue;
    const root = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
    const file = v2 ? 'memory.max' : 'memory.limit_in_bytes';
    const parts = path.split('/').filter(Boolean);
    for (let depth = parts.length; depth >= 0; depth--) {
      const text = read(`${root}/${parts.slice(0, depth).map((p) => `${p}/`).join('')}${file}`)?.trim();
      const bytes = text === undefined || text === 'max' ? undefined : Number(text);
      if (bytes !== undefined && Number.isFinite(bytes) && bytes > 0 && bytes < UNLIMITED_BYTES) limits.push(bytes);
    }
  }
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

/** Which listener: the mesh's (inbound) or the application's (outbound). */
export type Direction = 'inbound' | 'outbound';

/**
 * Requests in flight through the sidecar's HTTP listeners (and TCP connections it carries to
 * Services), bounded in each direction on its own. A middle tier's application calls out while
 * its callers' requests wait for it; with one bound for both directions, a flood of callers
 * took every place, the application's calls out were shed, and the pod served almost nothing
 * (test/proxy/overload.test.ts). With a bound each, the excess is shed at the door and every
 * request let in can make its calls.
 */
export class InFlightRequests {
  /** Requests in flight each direction may hold. */
  readonly max: number;
  /** Requests (and TCP connections to Services) in flight, by listener. */
  readonly current = { inbound: 0, outbound: 0 };
  /** Requests answered `overloaded`, by listener. */
  readonly shed = { inbound: 0, outbound: 0 };
  private readonly leave = {
    inbound: () => {
      this.current.inbound--;
    },
    outbound: () => {
      this.current.outbound--;
    },
  };

  constructor(max: number) {
    this.max = max;
  }

  /**
   * Admits a request, or answers it 503 `overloaded`. It is counted until its response closes,
   * finished or cut; an upgrade (WebSocket) until its socket closes (a spliced upgrade detaches
   * the socket from the response, which then never closes).
   */
  admit(req: ProxiedRequest, res: ServerResponse, listener: Direction): boolean {
    if (this.take(listener, req[UPGRADE]?.socket ?? res)) return true;
    this.shed[listener]++;
    sendGenerated(res, 'overloaded', `this sidecar holds ${this.current[listener]} ${listener} requests in flight, the most its memory limit allows (${this.max})`);
    return false;
  }

  /**
   * Admits a TCP connection the sidecar carries to a Service (over its own mTLS connection to
   * a meshed one: as costly as a request calling out), counted until it closes; false when full
   * (counted by the caller in `skiff_tcp_connections_total`, not as a request shed).
   */
  admitConnection(socket: Socket, listener: Direction): boolean {
    return this.take(listener, socket);
  }

  /** Takes a place until `holder` closes; false when every place is taken. */
  private take(listener: Direction, holder: EventEmitter): boolean {
    if (this.current[listener] >= this.max) return false;
    this.current[listener]++;
    // 'close' comes once; `on` needs no once-wrapper per request.
    holder.on('close', this.leave[listener]);
    return true;
  }
}
