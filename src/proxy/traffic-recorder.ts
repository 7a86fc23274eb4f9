/**
 * What the sidecar tells the control plane about its traffic (config/traffic.ts): counts and
 * latency histograms per series for the current interval, handed over and reset by `drain()`.
 * A map lookup and a few additions per request; at most MAX_REPORT_SERIES series, the rest
 * fold into one series without peer, so a caller inventing peers cannot grow it.
 */
import { MAX_REPORT_SERIES, outcomeOf, type Endpoint, type Peer, type TrafficSeries } from '../config/index.ts';
import { LatencyHistogram } from '../lib/latency-histogram.ts';

export interface SeriesKey {
  direction: 'inbound' | 'outbound';
  peer: Peer;
  service?: string;
  backend?: string;
}

interface Accumulator {
  key: SeriesKey;
  success: number;
  failure: number;
  denied: number;
  latency: LatencyHistogram;
}

const OVERFLOW_PEER = {} as const;

const endpointPeers = new WeakMap<Endpoint, Peer>();

/** The peer an endpoint stands for: built once per endpoint of a config (configs never change), not per request. */
export function endpointPeer(endpoint: Endpoint): Peer {
  let peer = endpointPeers.get(endpoint);
  if (!peer) {
    const w = endpoint.workload;
    peer = w ? { namespace: w.namespace, pod: endpoint.pod.slice(endpoint.pod.indexOf('/') + 1), kind: w.kind, name: w.name } : {};
    endpointPeers.set(endpoint, peer);
  }
  return peer;
}

/** A series with its key string built once (TrafficRecorder.seriesOf), for recordSeries. */
export interface Series {
  readonly key: SeriesKey;
  readonly id: string;
}

function keyString(k: SeriesKey): string {
  const p = k.peer;
  return `${k.direction}\u0001${p.namespace ?? ''}\u0001${p.pod ?? ''}\u0001${p.kind ?? ''}\u0001${p.name ?? ''}\u0001${k.service ?? ''}\u0001${k.backend ?? ''}`;
}

function countOn(a: Accumulator, status: number, generated: string | undefined, durationMs: number): void {
  const outcome = outcomeOf(status, generated);
  a[outcome]++;
  if (outcome !== 'denied') a.latency.add(durationMs);
}

export class TrafficRecorder {
  private current = new Map<string, Accumulator>();

  private accumulator(key: SeriesKey, id: string): Accumulator {
    let a = this.current.get(id);
    if (a) return a;
    if (this.current.size >= MAX_REPORT_SERIES) {
      key = { direction: key.direction, peer: OVERFLOW_PEER };
      id = keyString(key);
      a = this.current.get(id);
      if (a) return a;
    }
    a = { key: { ...key, peer: { ...key.peer } }, success: 0, failure: 0, denied: 0, latency: new LatencyHistogram() };
    this.current.set(id, a);
    return a;
  }

  /** A series to count on again and again with recordSeries (its key copied, its id built once). */
  seriesOf(key: SeriesKey): Series {
    return { key: { ...key, peer: { ...key.peer } }, id: keyString(key) };
  }

  /** Counts one request on a series from seriesOf: its status, the reason token when a Skiff proxy answered it, its duration. */
  recordSeries(series: Series, status: number, generated: string | undefined, durationMs: number): void {
    countOn(this.accumulator(series.key, series.id), status, generated, durationMs);
  }

  /** The series of the interval that just ended; counting starts again from zero. */
  drain(): TrafficSeries[] {
    const done = this.current;
    this.current = new Map();
    return [...done.values()].map((a) => ({
      direction: a.key.direction, peer: a.key.peer,
      ...(a.key.service ? { service: a.key.service } : {}), ...(a.key.backend ? { backend: a.key.backend } : {}),
      success: a.success, failure: a.failure, denied: a.denied, latency: a.latency.pairs(),
    }));
  }

  /** Puts back series a report could not deliver, so they go with the next one. */
  restore(series: TrafficSeries[]): void {
    for (const s of series) {
      const a = this.accumulator(s, keyString(s));
      a.success += s.success;
      a.failure += s.failure;
      a.denied += s.denied;
      a.latency.merge(s.latency);
    }
  }
}
