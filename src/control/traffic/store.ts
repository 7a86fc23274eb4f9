/**
 * The control plane's memory of traffic: what sidecars reported (config/traffic.ts), kept in a
 * ring of slots of REPORT_INTERVAL_MS each, for RETENTION_MS. A slot is stamped with the
 * control plane's clock when a report arrives (proxy clocks are never trusted), so a window of
 * `t` is "the reports received in the last t".
 *
 * Bounded by bytes: each series costs about ENTRY_BYTES plus 8 bytes per latency bucket
 * (measured by bench/traffic-store.ts); past `maxBytes` (default 64 MiB) the oldest slots go
 * first, so the newest traffic is always kept and the history shrinks instead. `coveredSince`
 * says from when the store is complete; the API's `window` field reports the window really
 * covered. A single slot bigger than the budget refuses the rest and counts it (`dropped`).
 */
import { REPORT_INTERVAL_MS, type Peer, type TrafficSeries } from '../../config/index.ts';

export const SLOT_MS = REPORT_INTERVAL_MS;
export const RETENTION_MS = 5 * 60_000;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** What one stored series costs besides its latency buckets (object, peer, interned strings' share). */
export const ENTRY_BYTES = 160;
const costOf = (buckets: number) => ENTRY_BYTES + 8 * buckets;

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

interface Slot {
  start: number;
  entries: StoredSeries[];
  bytes: number;
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
  private readonly maxBytes: number;
  private entries = 0;
  private held = 0;
  /** The end of the newest slot evicted for space: the store is complete only after it. */
  private evictedUntil = 0;
  dropped = 0;
  evicted = 0;
  reports = 0;

  constructor(options: { maxBytes?: number } = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  /** Series held. */
  get size(): number {
    return this.entries;
  }

  /** Estimated bytes held (ENTRY_BYTES per series plus its buckets). */
  get bytes(): number {
    return this.held;
  }

  private drop(slot: Slot): void {
    this.entries -= slot.entries.length;
    this.held -= slot.bytes;
  }

  private expire(now: number): void {
    while (this.slots.length && (this.slots[0] as Slot).start + SLOT_MS <= now - RETENTION_MS) this.drop(this.slots.shift() as Slot);
  }

  private slotFor(now: number): Slot {
    const start = now - (now % SLOT_MS);
    const last = this.slots[this.slots.length - 1];
    if (last && last.start === start) return last;
    const slot = { start, entries: [], bytes: 0 };
    this.slots.push(slot);
    return slot;
  }

  ingest(reporter: Reporter, series: readonly TrafficSeries[], now = Date.now()): { stored: number; dropped: number } {
    this.expire(now);
    this.reports++;
    const slot = this.slotFor(now);
    let stored = 0;
    for (const s of series) {
      const cost = costOf(s.latency.length);
      // Older slots make room for the newest traffic; the newest slot alone never exceeds the budget.
      while (this.held + cost > this.maxBytes && this.slots.length > 1 && this.slots[0] !== slot) {
        const oldest = this.slots.shift() as Slot;
        this.drop(oldest);
        this.evicted += oldest.entries.length;
        this.evictedUntil = oldest.start + SLOT_MS;
      }
      if (this.held + cost > this.maxBytes) break;
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
      slot.bytes += cost;
      this.held += cost;
      this.entries++;
      stored++;
    }
    this.dropped += series.length - stored;
    return { stored, dropped: series.length - stored };
  }

  /** Every series that arrived within the last `windowMs`, and how much of that window the store really holds. */
  window(windowMs: number, now = Date.now()): { entries: StoredSeries[]; coveredMs: number } {
    this.expire(now);
    const from = now - windowMs;
    const entries = this.slots.flatMap((slot) => (slot.start + SLOT_MS <= from ? [] : slot.entries.filter((e) => e.at > from)));
    return { entries, coveredMs: Math.min(windowMs, now - this.evictedUntil) };
  }
}
