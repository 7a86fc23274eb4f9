/**
 * What one replica tells the status writer (the leader) about the proxies streaming from it,
 * as changes since the last time it asked: GET /v1/acks?epoch=E&since=N. Each change to what a
 * proxy reports (an ack, a subscription, a stream opened or closed, the proxy created again or
 * gone) takes the next sequence number; an answer holds the proxies changed after `since` and
 * the ones no longer reported. A leader that asks every 2 s then moves only what changed, not
 * every proxy's entry (about 7 MB of JSON at 50,000 proxies).
 *
 * The answer is whole (`full`) when the asker names no version, another epoch (the replica
 * restarted) or a version older than the oldest removal still remembered.
 */
import { randomUUID } from 'node:crypto';

/** One proxy's entry in another replica's /v1/acks. */
export interface ReplicaAck {
  /** The version the proxy applied last; '' while a proxy streaming there has not acked yet. */
  applied: string;
  demand?: { services: string[]; tcp: boolean; udp?: false };
}

export interface AcksAnswer {
  epoch: string;
  /** The version this answer brings the asker to: its next `since`. */
  seq: number;
  /** Everything (replace what you hold), or changes since the version asked. */
  full: boolean;
  acks: Record<string, ReplicaAck>;
  /** Proxies no longer reported (whole answers never have any). */
  removed: string[];
}

/** What the ledger reads of a proxy record. */
export interface AckSubject {
  id: string;
  appliedHash?: string;
  connected: number;
  demand?: { services: ReadonlySet<string>; tcp: boolean; udp?: boolean };
  /** The ledger's sequence number of the last change that concerns the answer. */
  ackSeq?: number;
}

/** Removals remembered for askers that are behind; past this, they get a whole answer. */
const MAX_REMOVALS = 20_000;

/**
 * Whether a proxy is reported: it acked here, or it streams from here with subscriptions
 * (before its ack arrives, its subscriptions still count, as not applied: Pending rather than
 * no caller at all, which would be Unknown).
 */
function entryOf(r: AckSubject): ReplicaAck | undefined {
  if (!r.appliedHash && !(r.demand && r.connected > 0)) return undefined;
  return { applied: r.appliedHash ?? '', ...(r.demand ? { demand: { services: [...r.demand.services], tcp: r.demand.tcp, ...(r.demand.udp === false ? { udp: false as const } : {}) } } : {}) };
}

export class AckLedger {
  readonly epoch = randomUUID();
  private seq = 0;
  private readonly removals = new Map<string, number>();
  /** Askers behind this version get a whole answer (removals before it were forgotten). */
  private floor = 0;

  /** A change to what `r` reports. */
  changed(r: AckSubject): void {
    r.ackSeq = ++this.seq;
    this.removals.delete(r.id);
  }

  /** The proxy is gone from this replica. */
  removed(id: string): void {
    this.removals.set(id, ++this.seq);
    if (this.removals.size > MAX_REMOVALS) {
      this.removals.clear();
      this.floor = this.seq;
    }
  }

  answer(records: Iterable<AckSubject>, since?: { epoch: string; seq: number }): AcksAnswer {
    const full = since === undefined || since.epoch !== this.epoch || since.seq < this.floor || since.seq > this.seq;
    const from = full ? -1 : since.seq;
    const acks: Record<string, ReplicaAck> = {};
    const removed: string[] = [];
    for (const r of records) {
      if (!full && (r.ackSeq ?? 0) <= from) continue;
      const entry = entryOf(r);
      if (entry) acks[r.id] = entry;
      else if (!full) removed.push(r.id);
    }
    if (!full) for (const [id, at] of this.removals) if (at > from) removed.push(id);
    return { epoch: this.epoch, seq: this.seq, full, acks, removed };
  }
}

/**
 * The leader's copy of one peer's entries, kept up to date from its answers. An answer without
 * an epoch is a replica of an earlier version (a flat map of every entry): taken as whole.
 */
export class PeerAcks {
  private epoch: string | undefined;
  private seq = 0;
  readonly entries = new Map<string, ReplicaAck>();

  /** The query that asks for what changed since the last answer taken. */
  query(): string {
    return this.epoch === undefined ? '?since=0' : `?epoch=${encodeURIComponent(this.epoch)}&since=${this.seq}`;
  }

  take(answer: unknown): void {
    if (typeof answer !== 'object' || answer === null) throw new Error('the acks answer is not an object');
    const a = answer as Partial<AcksAnswer>;
    const versioned = typeof a.epoch === 'string' && typeof a.seq === 'number' && typeof a.acks === 'object' && a.acks !== null;
    const acks = (versioned ? a.acks : answer) as Record<string, unknown>;
    if (!versioned || a.full === true) this.entries.clear();
    if (versioned && Array.isArray(a.removed)) for (const id of a.removed) if (typeof id === 'string') this.entries.delete(id);
    for (const [id, ack] of Object.entries(acks)) {
      if (typeof (ack as ReplicaAck | null)?.applied === 'string') this.entries.set(id, ack as ReplicaAck);
    }
    this.epoch = versioned ? a.epoch : undefined;
    this.seq = versioned ? (a.seq as number) : 0;
  }
}
