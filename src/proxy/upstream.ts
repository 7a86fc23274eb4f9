/**
 * Connections to endpoints. Each endpoint (address, port, and for meshed pods its sidecar's
 * mTLS port and identity) has one undici Pool and its own health state, kept across config
 * swaps while the endpoint stays; pools of endpoints that disappear drain and close.
 *
 * To a meshed endpoint the proxy speaks TLS 1.3 with its workload certificate to the
 * server's sidecar (`meshPort`), names the target port in SNI (`<port>.inbound.skiff`) and
 * accepts the server only if its certificate carries the expected SPIFFE ID.
 *
 * The HTTP version the client chose is kept end to end: HTTP/1.1 requests use a pool that
 * offers only `http/1.1` in ALPN; HTTP/2 requests (gRPC) use a second pool per endpoint that
 * offers `h2` first (falling back to `http/1.1` with an older peer) and to the local
 * application speaks h2c with prior knowledge, many streams on one connection. Either way
 * the endpoint is picked per request, so weights hold per stream, not per connection.
 */
import { buildConnector, Pool } from 'undici';
import { DEFAULT_CLUSTER_POLICY, type ClusterPolicy, type Endpoint } from '../config/index.ts';
import { LONGEST_TIMER_MS } from '../lib/request-timer.ts';
import { installH2TrailersWorkaround } from './h2-trailers.ts';
import { expectServerIdentity } from './peer-tls.ts';
import { OutlierState } from './resilience.ts';
import type { TlsMaterial } from './tls-material.ts';

export const SNI_SUFFIX = '.inbound.skiff';
export const TCP_SNI_PREFIX = 'tcp-';

/** A pool and what it was built for: certificate generation and connection limits; a change builds a new one. */
interface PoolSlot {
  pool: Pool;
  generation: number;
  limits: string;
}

export type HttpVersion = 'http1' | 'h2';

export class EndpointRuntime {
  inflight = 0;
  readonly outlier = new OutlierState();
  readonly pools: Partial<Record<HttpVersion, PoolSlot>> = {};
  readonly key: string;
  readonly endpoint: Endpoint;
  /** Connection limits of the cluster this endpoint belongs to (the last config that named it). */
  policy: ClusterPolicy = DEFAULT_CLUSTER_POLICY;
  /** `policy`'s pool settings as text, computed when a config binds the endpoint, not per request. */
  limits = limitsOf(DEFAULT_CLUSTER_POLICY);

  /** The SNI a meshed endpoint's sidecar reads the target port from. */
  readonly servername: string;

  constructor(key: string, endpoint: Endpoint) {
    this.key = key;
    this.endpoint = endpoint;
    this.servername = `${endpoint.port}${SNI_SUFFIX}`;
  }

  /** The HTTP/1.1 pool, if one was built (its queue is what circuit breaking watches). */
  get pool(): Pool | undefined {
    return this.pools.http1?.pool;
  }

  get meshed(): boolean {
    return this.endpoint.meshPort !== undefined && this.endpoint.identity !== undefined;
  }
}

/**
 * undici's connector, with one more 'error' listener on every socket it makes: undici can emit
 * an error on a socket after it removed its own listeners (an HTTP/2 peer ending the
 * connection as the session closes), which would otherwise crash the sidecar. undici still
 * sees every error through its own listeners while it has them.
 */
function guardedConnector(options: buildConnector.BuildOptions & { preferH2?: boolean; useH2c?: boolean }): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) => connect(opts, (err, socket) => {
    socket?.on('error', () => undefined);
    (callback as (e: Error | null, s: typeof socket) => void)(err, socket);
  });
}

/**
 * undici's keep-alive time for a policy's idle time: `0s` means no limit (undici refuses 0),
 * and Node times at most 24.8 days (a longer one would fire after 1 ms).
 */
function keepAliveOf(idleTimeoutMs: number): number {
  return idleTimeoutMs > 0 ? Math.min(idleTimeoutMs, LONGEST_TIMER_MS) : LONGEST_TIMER_MS;
}

/** Streams one HTTP/2 connection to an endpoint carries at once (its pool has one connection). */
const H2_STREAMS = 256;

function limitsOf(policy: ClusterPolicy): string {
  return `${policy.circuitBreaker.maxConnections}/${policy.connectTimeoutMs}/${policy.idleTimeoutMs}`;
}

/** Requests queued in an endpoint's pool, waiting for a connection. */
function pendingOf(runtime: EndpointRuntime): number {
  return (runtime.pools.http1?.pool.stats.pending ?? 0) + (runtime.pools.h2?.pool.stats.pending ?? 0);
}

/**
 * Whether one more request to the endpoint would break the pending-request limit: `limit`
 * requests already wait for a connection, or (limit 0: none may wait) every connection is
 * busy. The number waiting when it would; undefined when it may go.
 */
export function overPendingLimit(runtime: EndpointRuntime, limit: number, version: HttpVersion): number | undefined {
  // Requests waiting for a connection are some of those in flight: while fewer are in flight
  // than the limit, none need counting (undici counts by walking every connection).
  if (runtime.inflight < limit) return undefined;
  const pending = pendingOf(runtime);
  if (pending < limit) return undefined;
  const capacity = version === 'h2' ? H2_STREAMS : runtime.policy.circuitBreaker.maxConnections;
  if (limit === 0 && pending === 0 && runtime.inflight < capacity) return undefined;
  return pending;
}

function closeAll(runtime: EndpointRuntime): Promise<unknown> {
  return Promise.all(Object.values(runtime.pools).map((slot) => slot.pool.close().catch(() => undefined)));
}

export function endpointKey(e: Endpoint): string {
  return e.meshPort !== undefined ? `${e.address}:${e.meshPort}/${e.port}/${e.identity ?? ''}` : `${e.address}:${e.port}`;
}

export class Upstreams {
  private readonly endpoints = new Map<string, EndpointRuntime>();
  /** `application`'s endpoints by port. */
  private readonly byPort = new Map<number, EndpointRuntime>();
  private readonly tls: () => TlsMaterial | undefined;

  constructor(tls: () => TlsMaterial | undefined) {
    this.tls = tls;
    installH2TrailersWorkaround();
  }

  /** The runtime (health, pool) of an endpoint, kept while the endpoint stays in the config. */
  runtime(endpoint: Endpoint, policy: ClusterPolicy = DEFAULT_CLUSTER_POLICY): EndpointRuntime {
    const key = endpointKey(endpoint);
    let runtime = this.endpoints.get(key);
    if (!runtime) {
      runtime = new EndpointRuntime(key, endpoint);
      this.endpoints.set(key, runtime);
    }
    if (runtime.policy !== policy) {
      runtime.policy = policy;
      runtime.limits = limitsOf(policy);
    }
    return runtime;
  }

  /**
   * The local application's endpoint on a port (the inbound side's upstreams): found by the
   * port number, without an endpoint object and a key string made per request.
   */
  application(address: string, port: number, pod: string): EndpointRuntime {
    const known = this.byPort.get(port);
    if (known !== undefined && known.endpoint.address === address && known.endpoint.pod === pod) return known;
    const runtime = this.runtime({ address, port, pod });
    this.byPort.set(port, runtime);
    return runtime;
  }

  /** Keeps the endpoints of the new config; the others finish what they carry, then close. */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, runtime] of this.endpoints) {
      if (keys.has(key)) continue;
      this.endpoints.delete(key);
      if (this.byPort.get(runtime.endpoint.port) === runtime) this.byPort.delete(runtime.endpoint.port);
      void closeAll(runtime);
    }
  }

  /** The pool to use now for an HTTP version; a certificate rotation or new connection limits build a new pool and drain the old one. */
  pool(runtime: EndpointRuntime, version: HttpVersion = 'http1'): Pool {
    const material = runtime.meshed ? this.tls() : undefined;
    const generation = material?.generation ?? 0;
    const slot = runtime.pools[version];
    if (slot && slot.generation === generation && slot.limits === runtime.limits) return slot.pool;
    const policy = runtime.policy;
    const e = runtime.endpoint;
    const h2 = version === 'h2';
    // A hand-written config may say more than Node can time (which would fire after 1 ms).
    const connectTimeout = Math.min(policy.connectTimeoutMs, LONGEST_TIMER_MS);
    const common = {
      connections: h2 ? 1 : policy.circuitBreaker.maxConnections,
      keepAliveTimeout: keepAliveOf(policy.idleTimeoutMs),
      headersTimeout: 0,
      bodyTimeout: 0,
      allowH2: h2,
      ...(h2 ? { maxConcurrentStreams: H2_STREAMS } : {}),
    };
    const pool = material && runtime.meshed
      ? new Pool(`https://${e.address}:${e.meshPort}`, {
        ...common,
        connect: guardedConnector({
          timeout: connectTimeout,
          cert: material.certPem, key: material.keyPem, ca: material.caPem,
          servername: runtime.servername,
          minVersion: 'TLSv1.3',
          checkServerIdentity: expectServerIdentity(e.identity as string),
          allowH2: h2,
          // Offer h2 first for HTTP/2 requests; the server's own preference decides.
          ...(h2 ? { preferH2: true } : {}),
        }),
      })
      : new Pool(`http://${e.address}:${e.port}`, { ...common, connect: guardedConnector({ timeout: connectTimeout, allowH2: h2, ...(h2 ? { useH2c: true } : {}) }) });
    runtime.pools[version] = { pool, generation, limits: runtime.limits };
    if (slot) void slot.pool.close().catch(() => undefined);
    return pool;
  }

  snapshot(): { endpoint: string; inflight: number; pending: number; ejected: boolean; consecutiveFailures: number; ejections: number }[] {
    const now = Date.now();
    return [...this.endpoints.values()].map((r) => ({ endpoint: r.key, inflight: r.inflight, pending: pendingOf(r), ejected: r.outlier.ejectedUntil > now, consecutiveFailures: r.outlier.consecutiveFailures, ejections: r.outlier.ejections }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints.values()].map(closeAll));
    this.endpoints.clear();
    this.byPort.clear();
  }
}
