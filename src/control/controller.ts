/**
 * control: the control plane's core. It takes snapshots from a source, coalesces changes
 * (a short debounce with a hard cap), rebuilds the topology and every proxy's config, and
 * tells the distribution layer which proxies have a new config. It also remembers, per proxy,
 * which version was sent and which was applied (acknowledged) or refused, and why.
 *
 *   source ──snapshot──► MeshController ──buildTopology──► translateAll ──changed hashes──► streams
 */
import { EventEmitter } from 'node:events';
import type { ProxyConfig } from '../config/index.ts';
import { allIssues, buildTopology, type Snapshot, type Topology } from '../model/index.ts';
import { translateAll } from '../translate/index.ts';

export interface ProxyRecord {
  id: string;
  identity: string;
  config: ProxyConfig;
  /** The JSON sent on the wire, built once per config version. */
  json: string;
  sentHash?: string;
  appliedHash?: string;
  lastError?: string;
  ackAt?: string;
  /** When the workload certificate this replica issued it last expires. */
  certificateNotAfter?: string;
  connected: number;
}

/** Whether a proxy applied the config it should have now. */
export const isUpToDate = (r: ProxyRecord): boolean => r.appliedHash === r.config.hash;

/** One row of /debug/proxies. */
export interface ProxyStatus {
  proxy: string;
  identity: string;
  connected: boolean;
  desired: string;
  sent: string | null;
  applied: string | null;
  upToDate: boolean;
  lastError: string | null;
  ackAt: string | null;
  certificateNotAfter: string | null;
}

export interface ControllerOptions {
  debounceMs?: number;
  maxDelayMs?: number;
}

export interface ControllerEvents {
  /** Proxies whose config changed in the last rebuild. */
  changed: [string[]];
  rebuilt: [{ topology: Topology; durationMs: number; changed: number }];
}

/** JSON for a config whose outbound half is shared: serialise that half once. */
function wireJson(config: ProxyConfig, outboundJson: Map<object, string>): string {
  let outbound = outboundJson.get(config.outbound);
  if (outbound === undefined) {
    outbound = JSON.stringify(config.outbound);
    outboundJson.set(config.outbound, outbound);
  }
  const { outbound: _outbound, ...rest } = config;
  return `${JSON.stringify(rest).slice(0, -1)},"outbound":${outbound}}`;
}

export class MeshController extends EventEmitter<ControllerEvents> {
  topology: Topology | undefined;
  /** The snapshot `topology` was built from. */
  snapshot: Snapshot | undefined;
  readonly proxies = new Map<string, ProxyRecord>();
  private pending: Snapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstPendingAt = 0;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;

  constructor(options: ControllerOptions = {}) {
    super();
    this.debounceMs = options.debounceMs ?? 10;
    this.maxDelayMs = options.maxDelayMs ?? 100;
  }

  /** Queues a snapshot; bursts of updates are coalesced into one rebuild. */
  update(snapshot: Snapshot): void {
    const now = Date.now();
    if (!this.pending) this.firstPendingAt = now;
    this.pending = snapshot;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPendingAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => this.rebuild(), wait);
  }

  /** Rebuilds now from the latest snapshot (tests and the first start call this directly). */
  rebuild(): void {
    const snapshot = this.pending;
    this.pending = undefined;
    this.timer = undefined;
    if (!snapshot) return;
    const started = performance.now();
    const topology = buildTopology(snapshot);
    const configs = translateAll(topology);
    const outboundJson = new Map<object, string>();
    const changed: string[] = [];
    for (const [id, config] of configs) {
      const record = this.proxies.get(id);
      if (record && record.config.hash === config.hash) continue;
      const next: ProxyRecord = record ?? { id, identity: config.proxy.identity, config, json: '', connected: 0 };
      next.config = config;
      next.identity = config.proxy.identity;
      next.json = wireJson(config, outboundJson);
      this.proxies.set(id, next);
      changed.push(id);
    }
    for (const id of [...this.proxies.keys()]) {
      if (!configs.has(id) && (this.proxies.get(id)?.connected ?? 0) === 0) this.proxies.delete(id);
    }
    this.topology = topology;
    this.snapshot = snapshot;
    this.emit('rebuilt', { topology, durationMs: performance.now() - started, changed: changed.length });
    if (changed.length > 0) this.emit('changed', changed);
  }

  acknowledge(id: string, result: { hash?: string; error?: string }): void {
    const record = this.proxies.get(id);
    if (!record) return;
    record.ackAt = new Date().toISOString();
    if (result.error) record.lastError = result.error;
    else if (result.hash) {
      record.appliedHash = result.hash;
      record.lastError = undefined;
    }
  }

  /** What each proxy that acknowledged to this replica applied last (for the other replicas). */
  acks(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this.proxies.values()) if (r.appliedHash) out[r.id] = r.appliedHash;
    return out;
  }

  /** Per proxy: what it should have, what it applied, and any refusal (/debug/proxies). */
  proxyStatus(): ProxyStatus[] {
    return [...this.proxies.values()].map((r) => ({
      proxy: r.id, identity: r.identity, connected: r.connected > 0, desired: r.config.hash, sent: r.sentHash ?? null,
      applied: r.appliedHash ?? null, upToDate: isUpToDate(r), lastError: r.lastError ?? null, ackAt: r.ackAt ?? null,
      certificateNotAfter: r.certificateNotAfter ?? null,
    }));
  }

  problems(): string[] {
    return this.topology ? allIssues(this.topology).map((i) => `${i.object ? `${i.object.kind}/${i.object.namespace ?? ''}/${i.object.name ?? ''}` : ''} ${i.path} ${i.message} [${i.code}]`) : [];
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
