/**
 * The control plane's memory of traffic: what sidecars reported (config/traffic.ts), kept in a
 * ring of slots of REPORT_INTERVAL_MS each, for RETENTION_MS. A slot is stamped with the
 * control plane's clock when a report arrives (proxy clocks are never trusted), so a window of
 * `t` is "the reports received in the last t".
 *
 * Bounded: at most `maxEntries` series are held in all slots together (one entry = one series
 * of one report: a few counters, the peer, and the latency buckets as an Int32Array). Past
 * the cap, new series are refused and counted (`dropped`), never older ones evicted early, so
 * a window is either whole or the loss is visible. docs/traffic-metrics.md gives the figure.
 */
import { REPORT_INTERVAL_MS, type Peer, type TrafficSeries } from '../../config/index.ts';

export const SLOT_MS = REPORT_INTERVAL_MS;
export const RETENTION_MS = 5 * 60_000;
export const DEFAULT_MAX_ENTRIES = 200_000;

/** What the control plane knew about the reporting pod when its report arrived. */
export interface Reporter {
  namespace: string;
  pod: string;
  kind: string;
  name: string;
}

export interface StoredSeries {
  reporter: Reporter;
  direction: 'inbound' | 'outbound';
  peer: Peer;
  service?: string;
  backend?: string;
  success: number;
  failure: number;
  denied: number;
  /** Latency buckets, `[index, count, index, count, …]`. */
  latency: Int32Array;
  /** When the report arrived (ms since the epoch). */
  at: number;
}

/** The wire form between controller replicas (GET /v1/traffic/entries). */
export interface WireEntry extends Omit<StoredSeries, 'latency'> {
  latency: number[];
}

interface Slot {
  start: number;
  entries: StoredSeries[];
}

/** Interns the short strings every entry repeats (namespaces, services), so they are stored once. */
class Strings {
  private readonly known = new Map<string, string>();
  get(s: string | undefined): string | undefined {
    if (s === undefined) return undefined;
    const hit = this.known.get(s);
    if (hit !== undefined) return hit;
    if (this.known.size > 100_000) this.known.clear();
    this.known.set(s, s);
    return s;
  }
}

export class TrafficStore {
  private readonly slots: Slot[] = [];
  private readonly strings = new Strings();
  private readonly maxEntries: number;
  private entries = 0;
  dropped = 0;
  reports = 0;

  constructor(options: { maxEntries?: number } = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  get size(): number {
    return this.entries;
  }

  private expire(now: number): void {
    while (this.slots.length && (this.slots[0] as Slot).start + SLOT_MS <= now - RETENTION_MS) {
      this.entries -= (this.slots.shift() as Slot).entries.length;
    }
  }

  private slotFor(now: number): Slot {
    const start = now - (now % SLOT_MS);
    const last = this.slots[this.slots.length - 1];
    if (last && last.start === start) return last;
    const slot = { start, entries: [] };
    this.slots.push(slot);
    return slot;
  }

  ingest(reporter: Reporter, series: readonly TrafficSeries[], now = Date.now()): { stored: number; dropped: number } {
    this.expire(now);
    this.reports++;
    const slot = this.slotFor(now);
    let stored = 0;
    for (const s of series) {
      if (this.entries + stored >= this.maxEntries) break;
      const latency = new Int32Array(s.latency.length * 2);
      s.latency.forEach(([i, n], k) => {
        latency[2 * k] = i;
        latency[2 * k + 1] = n;
      });
      const peer: Peer = {};
      for (const f of ['namespace', 'pod', 'kind', 'name'] as const) if (s.peer[f] !== undefined) peer[f] = this.strings.get(s.peer[f]) as string;
      slot.entries.push({
        reporter, direction: s.direction, peer, success: s.success, failure: s.failure, denied: s.denied, latency, at: now,
        ...(s.service ? { service: this.strings.get(s.service) as string } : {}), ...(s.backend ? { backend: this.strings.get(s.backend) as string } : {}),
      });
      stored++;
    }
    this.entries += stored;
    this.dropped += series.length - stored;
    return { stored, dropped: series.length - stored };
  }

  /** Every series that arrived within the last `windowMs`. */
  window(windowMs: number, now = Date.now()): StoredSeries[] {
    this.expire(now);
    const from = now - windowMs;
    return this.slots.flatMap((slot) => (slot.start + SLOT_MS <= from ? [] : slot.entries.filter((e) => e.at > from)));
  }
}

export function toWire(e: StoredSeries): WireEntry {
  return { ...e, latency: [...e.latency] };
}

export function fromWire(e: WireEntry): StoredSeries {
  return { ...e, latency: Int32Array.from(e.latency) };
}
