/**
 * control: the control plane's core. It takes snapshots from a source, coalesces changes
 * (a short debounce with a hard cap), rebuilds the topology and every proxy's config, and
 * tells the distribution layer which proxies have a new config. It also remembers, per proxy,
 * which version was sent and which was applied (acknowledged) or refused, and why, and what a
 * proxy that resolves on demand subscribed to (its config holds those Services only).
 *
 *   source ──snapshot──► MeshController ──buildTopology──► translateAll ──changed hashes──► streams
 */
import { EventEmitter } from 'node:events';
import type { ProxyConfig } from '../config/index.ts';
import { allIssues, buildTopology, type Snapshot, type Topology } from '../model/index.ts';
import { MeshTranslation, type Demand } from '../translate/index.ts';
import { AckLedger, type AcksAnswer, type ReplicaAck } from './acks-ledger.ts';
import type { ProxyProgress } from './status.ts';

export type { ReplicaAck } from './acks-ledger.ts';

export interface ProxyRecord {
  id: string;
  identity: string;
  config: ProxyConfig;
  /** The JSON sent on the wire for `config`, built when first sent (configJson). */
  wire?: { config: ProxyConfig; json: string };
  sentHash?: string;
  /** When `sentHash` was last written to one of its streams (epoch ms). */
  sentAt?: number;
  appliedHash?: string;
  lastError?: string;
  /** When its last ack arrived (epoch ms; formatted only for /debug: an ISO string per ack was most of acknowledge()'s own time). */
  ackAt?: number;
  /** When the workload certificate this replica issued it last expires. */
  certificateNotAfter?: string;
  connected: number;
  /** A proxy that resolves on demand: what it subscribed to (its config holds those Services). Replaced, never edited. */
  demand?: Demand;
  /** The acks ledger's version of the last change to what this replica reports of it. */
  ackSeq?: number;
}

/**
 * What a proxy that has not connected yet is configured for: nothing subscribed. Every sidecar
 * resolves on demand, so this is the config it will get; a mesh of 10,000 Services then never
 * builds the 16 MB "every Service" half unless a pod's scope is `*`.
 */
const NOTHING_YET: Demand = { services: new Set(), tcp: false };

/** At most this many Services one proxy may subscribe to; a scope (or `*`) serves proxies that call more. */
export const MAX_SUBSCRIPTIONS = 5000;

/** What a proxy that resolves on demand asks for: Services by key (resumption) and by host name (first calls). */
export interface DemandChange {
  services?: readonly string[];
  hosts?: readonly string[];
  /** Services to stop sending (the application no longer calls them). */
  drop?: readonly string[];
  tcp?: boolean;
  /** Whether the proxy takes UDP in its config (a sidecar that predates it does not: translate/inbound.ts, withoutDatagrams). */
  udp?: boolean;
}

/**
 * How long a proxy that left the topology (its pod finished or was deleted) is still known for
 * its last traffic report: a finished Job's sidecar reports while its pod is already gone.
 */
export const DEPARTED_GRACE_MS = 60_000;
const MAX_DEPARTED = 10_000;

/** Who a proxy was, for a report: its identity and its pod as its last config named it. */
export type KnownProxy = Pick<ProxyRecord, 'identity'> & { proxy: ProxyConfig['proxy'] };

/** Whether a proxy applied the config it should have now. */
export const isUpToDate = (r: ProxyRecord): boolean => r.appliedHash === r.config.hash;

/** One row of /debug/proxies. */
export interface ProxyStatus {
  proxy: string;
  identity: string;
  connected: boolean;
  desired: string;
  sent: string | null;
  /** When the last config or delta was written to the proxy's stream. */
  sentAt: string | null;
  applied: string | null;
  upToDate: boolean;
  lastError: string | null;
  ackAt: string | null;
  certificateNotAfter: string | null;
}

export interface ControllerOptions {
  debounceMs?: number;
  maxDelayMs?: number;
  /** How long a proxy that left is still known for its last report (default DEPARTED_GRACE_MS). */
  departedGraceMs?: number;
}

export interface ControllerEvents {
  /** Proxies whose config changed in the last rebuild. */
  changed: [string[]];
  rebuilt: [{ topology: Topology; durationMs: number; changed: number }];
}

/** Outbound halves are shared by many configs: each is serialised once. */
const outboundJson = new WeakMap<object, string>();

/** The JSON of a config's outbound half (shared, serialised once): a lower bound of the whole config's length. */
export function outboundJsonOf(config: ProxyConfig): string {
  let outbound = outboundJson.get(config.outbound);
  if (outbound === undefined) {
    outbound = JSON.stringify(config.outbound);
    outboundJson.set(config.outbound, outbound);
  }
  return outbound;
}

/**
 * The JSON a config stream sends for a record's config, built once per config version and only
 * when it is first needed (most proxies in a large mesh are not sent most versions whole).
 */
export function configJson(record: ProxyRecord): string {
  if (record.wire?.config === record.config) return record.wire.json;
  const config = record.config;
  const { outbound: _outbound, ...rest } = config;
  const json = `${JSON.stringify(rest).slice(0, -1)},"outbound":${outboundJsonOf(config)}}`;
  record.wire = { config, json };
  return json;
}

export class MeshController extends EventEmitter<ControllerEvents> {
  topology: Topology | undefined;
  /** The translation of `topology`, kept to compute one proxy's config when its demand changes. */
  private translation: MeshTranslation | undefined;
  /** The snapshot `topology` was built from. */
  snapshot: Snapshot | undefined;
  readonly proxies = new Map<string, ProxyRecord>();
  /** Proxies that left the topology lately (oldest first), with when they left. */
  private readonly departed = new Map<string, KnownProxy & { at: number }>();
  private readonly ledger = new AckLedger();
  private pending: Snapshot | undefined;
  /** Cancels the rebuild update() queued, if it has not run. */
  private cancelQueued: (() => void) | undefined;
  private firstPendingAt = 0;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly departedGraceMs: number;

  constructor(options: ControllerOptions = {}) {
    super();
    this.debounceMs = options.debounceMs ?? 10;
    this.maxDelayMs = options.maxDelayMs ?? 100;
    this.departedGraceMs = options.departedGraceMs ?? DEPARTED_GRACE_MS;
  }

  /** Queues a snapshot; bursts of updates are coalesced into one rebuild. */
  update(snapshot: Snapshot): void {
    const now = Date.now();
    if (!this.pending) this.firstPendingAt = now;
    this.pending = snapshot;
    this.cancelQueued?.();
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPendingAt + this.maxDelayMs - now));
    // No wait (local mode, whose folder already gathers a burst of writes): in this turn of the event loop, not a timer's millisecond later.
    if (wait === 0) {
      const immediate = setImmediate(() => this.rebuild());
      this.cancelQueued = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(() => this.rebuild(), wait);
      this.cancelQueued = () => clearTimeout(timer);
    }
  }

  /** Rebuilds now from the latest snapshot (tests and the first start call this directly). */
  rebuild(): void {
    const snapshot = this.pending;
    this.pending = undefined;
    this.cancelQueued?.();
    this.cancelQueued = undefined;
    if (!snapshot) return;
    const started = performance.now();
    const topology = buildTopology(snapshot);
    // Built on the previous translation: what the change left alone is reused, not rebuilt.
    const translation = new MeshTranslation(topology, this.translation);
    const changed: string[] = [];
    // Built on the previous translation with the same inbound inputs: only the proxies it
    // names can have a new config (a weight edit in a mesh of 50,000: its callers'), the rest
    // keep theirs without being asked. Otherwise every proxy is asked.
    const changes = translation.changes();
    for (const id of changes?.changed ?? translation.proxyIds()) {
      const record = this.proxies.get(id);
      const config = translation.configOf(id, record?.demand ?? NOTHING_YET) as ProxyConfig;
      if (record && record.config.hash === config.hash) continue;
      const next: ProxyRecord = record ?? { id, identity: config.proxy.identity, config, connected: 0 };
      if (!record) this.ledger.changed(next);
      next.config = config;
      next.identity = config.proxy.identity;
      this.proxies.set(id, next);
      changed.push(id);
    }
    translation.release();
    // Every proxy of the topology has its record now: any more records are of proxies that left.
    if (this.proxies.size > translation.size) for (const id of [...this.proxies.keys()]) {
      if (!translation.has(id) && (this.proxies.get(id)?.connected ?? 0) === 0) {
        const gone = this.proxies.get(id) as ProxyRecord;
        this.departed.delete(id);
        this.departed.set(id, { identity: gone.identity, proxy: gone.config.proxy, at: Date.now() });
        this.proxies.delete(id);
        this.ledger.removed(id);
      }
    }
    if (this.departed.size > 0) for (const id of [...this.departed.keys()]) if (translation.has(id)) this.departed.delete(id);
    for (const [id, d] of this.departed) {
      if (this.departed.size <= MAX_DEPARTED && Date.now() - d.at < this.departedGraceMs) break;
      this.departed.delete(id);
    }
    this.translation = translation;
    this.topology = topology;
    this.snapshot = snapshot;
    // Pushes first: what listens to 'rebuilt' (the status writer) may take a while.
    if (changed.length > 0) this.emit('changed', changed);
    this.emit('rebuilt', { topology, durationMs: performance.now() - started, changed: changed.length });
  }

  /**
   * Adds to what a proxy resolves on demand: Services by key, and the Services its host names
   * stand for (each answered: its key, or null when the mesh has no such Service). Its config
   * is recomputed at once, and pushed when it changed (unless `emit` is false: the caller
   * sends it). Undefined: no such proxy, or past the subscription limit.
   */
  demand(id: string, change: DemandChange, emit = true): { hash: string; hosts: (string | null)[] } | undefined {
    const record = this.proxies.get(id);
    const translation = this.translation;
    if (!record || !translation) return undefined;
    const ns = record.config.proxy.namespace;
    const hosts = (change.hosts ?? []).map((h) => translation.serviceFor(h, ns) ?? null);
    const demand = record.demand ?? { services: new Set<string>(), tcp: false };
    const wanted = [...(change.services ?? []), ...hosts.filter((k): k is string => k !== null)].filter((k) => !demand.services.has(k));
    if (demand.services.size + wanted.length > MAX_SUBSCRIPTIONS) return undefined;
    const drops = (change.drop ?? []).filter((k) => demand.services.has(k));
    // Nothing new (a host asked again, a resumption, the status writer adopting a peer's demand): the config stands.
    const udp = change.udp ?? demand.udp ?? true;
    if (record.demand && wanted.length === 0 && drops.length === 0 && (change.tcp === undefined || change.tcp === demand.tcp) && udp === (demand.udp ?? true)) return { hash: record.config.hash, hosts };
    // A new object, never an edit: the translation remembers what it derived from each demand.
    const services = new Set(demand.services);
    for (const key of wanted) services.add(key);
    for (const key of drops) services.delete(key);
    const next = { services, tcp: change.tcp ?? demand.tcp, ...(udp ? {} : { udp: false }) };
    record.demand = next;
    this.ledger.changed(record);
    const config = translation.configOf(id, next);
    if (config && config.hash !== record.config.hash) {
      record.config = config;
      if (emit) this.emit('changed', [id]);
    }
    return { hash: record.config.hash, hosts };
  }

  /** A proxy in the topology, or one that left it less than the grace (DEPARTED_GRACE_MS) ago. */
  known(id: string): KnownProxy | undefined {
    const record = this.proxies.get(id);
    if (record) return { identity: record.identity, proxy: record.config.proxy };
    const gone = this.departed.get(id);
    return gone && Date.now() - gone.at < this.departedGraceMs ? gone : undefined;
  }

  acknowledge(id: string, result: { hash?: string; error?: string }): void {
    const record = this.proxies.get(id);
    if (!record) return;
    record.ackAt = Date.now();
    if (result.error) record.lastError = result.error;
    else if (result.hash) {
      if (record.appliedHash !== result.hash) this.ledger.changed(record);
      record.appliedHash = result.hash;
      record.lastError = undefined;
    }
  }

  /** A config stream of this proxy opened (+1) or closed (-1) on this replica. */
  streamed(id: string, delta: 1 | -1): void {
    const record = this.proxies.get(id);
    if (!record) return;
    record.connected = Math.max(0, record.connected + delta);
    this.ledger.changed(record);
  }

  /**
   * What each proxy that acknowledged to this replica (or streams from it) applied last, and
   * what it resolves on demand, for the other replicas: the status writer computes the same
   * config from it. Whole, or what changed since a version the asker holds (acks-ledger.ts).
   */
  acksSince(since?: { epoch: string; seq: number }): AcksAnswer {
    return this.ledger.answer(this.proxies.values(), since);
  }

  /** Every entry of acksSince, as a map. */
  acks(): Record<string, ReplicaAck> {
    return this.acksSince().acks;
  }

  /**
   * Whether the status writer must ask the other replicas what their proxies applied: unless
   * every proxy streams from here and acked here. What a proxy streaming elsewhere once acked
   * here is stale: it may have subscribed to more since.
   */
  needsPeerAcks(): boolean {
    for (const r of this.proxies.values()) if (r.connected === 0 || !isUpToDate(r)) return true;
    return false;
  }

  /**
   * What the status writer counts, per proxy: up to date here or on another replica (`elsewhere`:
   * their /v1/acks), and its outbound half. A proxy resolving on demand that streams from
   * another replica is configured here for what it subscribed to there first, so both compute
   * the same version.
   */
  progress(elsewhere?: ReadonlyMap<string, readonly ReplicaAck[]>): ProxyProgress[] {
    for (const [id, acks] of elsewhere ?? []) for (const ack of acks) if (ack.demand) this.demand(id, ack.demand);
    return [...this.proxies.values()].map((r) => ({
      id: r.id, upToDate: isUpToDate(r) || (elsewhere?.get(r.id)?.some((a) => a.applied === r.config.hash) ?? false), outbound: r.config.outbound,
    }));
  }

  /** Per proxy: what it should have, what it applied, and any refusal (/debug/proxies). */
  proxyStatus(): ProxyStatus[] {
    return [...this.proxies.values()].map((r) => ({
      proxy: r.id, identity: r.identity, connected: r.connected > 0, desired: r.config.hash, sent: r.sentHash ?? null, sentAt: r.sentAt === undefined ? null : new Date(r.sentAt).toISOString(),
      applied: r.appliedHash ?? null, upToDate: isUpToDate(r), lastError: r.lastError ?? null, ackAt: r.ackAt === undefined ? null : new Date(r.ackAt).toISOString(),
      certificateNotAfter: r.certificateNotAfter ?? null,
    }));
  }

  problems(): string[] {
    return this.topology ? allIssues(this.topology).map((i) => `${i.object ? `${i.object.kind}/${i.object.namespace ?? ''}/${i.object.name ?? ''}` : ''} ${i.path} ${i.message} [${i.code}]`) : [];
  }

  stop(): void {
    this.cancelQueued?.();
  }
}
