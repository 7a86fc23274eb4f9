/**
 * Metrics (prom-client) and the access log (pino). Metric names and labels are documented in
 * docs/metrics.md; labels take values from the config (services, workloads, routes) and the
 * status code, so cardinality stays bounded by the mesh's size, never by request content.
 */
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TrafficRecorder, type Series, type SeriesKey } from './traffic-recorder.ts';
import { LoopDelay, loopDelayMetricNames } from './loop-delay.ts';
import { LONGEST_TIMER_MS } from '../lib/request-timer.ts';
import type { InFlightRequests } from './overload.ts';

export interface RequestLabels {
  direction: 'inbound' | 'outbound';
  source_namespace: string;
  source_workload_kind: string;
  source_workload: string;
  destination_namespace: string;
  destination_workload_kind: string;
  destination_workload: string;
  destination_service: string;
  route: string;
}

const PROCESS_PREFIX = 'skiff_proxy_';
const BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** Counts for one label set, kept as plain numbers on the hot path and exported at scrape time. */
class RequestAggregate {
  readonly labels: RequestLabels;
  readonly statuses = new Map<number, number>();
  readonly buckets = new Float64Array(BUCKETS_MS.length);
  sum = 0;
  count = 0;
  constructor(labels: RequestLabels) {
    this.labels = labels;
  }
}

function observeInto(a: RequestAggregate, status: number, durationMs: number): void {
  a.statuses.set(status, (a.statuses.get(status) ?? 0) + 1);
  let i = 0;
  while (i < BUCKETS_MS.length && durationMs > (BUCKETS_MS[i] as number)) i++;
  if (i < BUCKETS_MS.length) a.buckets[i] = (a.buckets[i] as number) + 1;
  a.sum += durationMs;
  a.count++;
}

/** Where one kind of request is counted (Telemetry.countersFor). */
export interface RequestCounters {
  readonly aggregate: RequestAggregate;
  readonly series: Series;
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/** Distinct label combinations of skiff_requests_total and its histogram; beyond, OVERFLOW_WORKLOAD. */
export const MAX_AGGREGATES = 10_000;
/** The source_workload of requests counted past MAX_AGGREGATES. */
export const OVERFLOW_WORKLOAD = '(overflow)';
/** How many key-described counter pairs countersForKey keeps. */
const MAX_KEYED = 4096;

/** A prom-client compatible metric whose values are produced from the aggregates on each scrape. */
function collected(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => MetricValue[]) {
  return {
    name, help, type, aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  };
}

export interface AccessLogOptions {
  /** Share of requests logged, 0 (off, the default) to 1 (all). */
  sample: number;
  destination?: NodeJS.WritableStream;
}

export class Telemetry {
  readonly registry = new Registry();
  /** Interval counts for the control plane's TrafficMetrics API (traffic-recorder.ts). */
  readonly traffic = new TrafficRecorder();
  readonly tcpConnections: Counter<string>;
  private readonly datagrams: Counter<string>;
  readonly tcpBytes: Counter<string>;
  readonly configInfo: Gauge<string>;
  readonly configUpdates: Counter<string>;
  readonly certificateExpiry: Gauge<string>;
  readonly retries: Counter<string>;
  readonly ejections: Counter<string>;
  readonly connectionsRefused: Counter<string>;
  private readonly resolutions: Histogram<string>;
  /** The datagram counter's children by `port result`: a few ports times five results, looked up once each. */
  private readonly datagramChildren = new Map<string, { inc(): void }>();
  private readonly aggregates = new Map<string, RequestAggregate>();
  private readonly byIdentity = new WeakMap<object, WeakMap<object, RequestCounters>>();
  private readonly byKey = new Map<string, RequestCounters>();
  private readonly log: Logger | undefined;
  private readonly sample: number;
  /** The event loop's delay, sampled while traffic flows (count, connections and datagrams say so). */
  readonly loopDelay: LoopDelay;

  constructor(accessLog: AccessLogOptions = { sample: 0 }) {
    const registers = [this.registry];
    this.registry.registerMetric(collected('skiff_requests_total', 'HTTP requests handled, by direction, source, destination, route and status code.', 'counter', () =>
      [...this.aggregates.values()].flatMap((a) => [...a.statuses].map(([status, value]) => ({ labels: { ...a.labels, status_code: status }, value })))) as never);
    this.registry.registerMetric(collected('skiff_request_duration_ms', 'Time from request to the end of the response, in milliseconds.', 'histogram', () =>
      [...this.aggregates.values()].flatMap((a) => {
        let cumulative = 0;
        const out: MetricValue[] = BUCKETS_MS.map((le, i) => {
          cumulative += a.buckets[i] as number;
          return { labels: { le, ...a.labels }, value: cumulative, metricName: 'skiff_request_duration_ms_bucket' };
        });
        out.push({ labels: { le: '+Inf', ...a.labels }, value: a.count, metricName: 'skiff_request_duration_ms_bucket' });
        out.push({ labels: { ...a.labels }, value: a.sum, metricName: 'skiff_request_duration_ms_sum' });
        out.push({ labels: { ...a.labels }, value: a.count, metricName: 'skiff_request_duration_ms_count' });
        return out;
      })) as never);
    this.tcpConnections = new Counter({ name: 'skiff_tcp_connections_total', help: 'TCP connections proxied, by direction and destination.', labelNames: ['direction', 'destination_namespace', 'destination_service', 'result'], registers });
    this.tcpBytes = new Counter({ name: 'skiff_tcp_bytes_total', help: 'Bytes carried on proxied TCP connections, by direction of flow.', labelNames: ['direction', 'destination_namespace', 'destination_service', 'flow'], registers });
    this.datagrams = new Counter({ name: 'skiff_udp_datagrams_total', help: 'Datagrams to the pod\'s captured UDP ports, by application port and result: relayed, answered (the application\'s answers sent back), denied (no rule allows the source address), overflow (too many callers), no-port (not a UDP port of the config).', labelNames: ['port', 'result'], registers });
    this.configInfo = new Gauge({ name: 'skiff_config_info', help: 'The config in force (value 1), labelled with its hash.', labelNames: ['hash'], registers });
    this.configUpdates = new Counter({ name: 'skiff_config_updates_total', help: 'Configs received, by result (applied or rejected).', labelNames: ['result'], registers });
    this.certificateExpiry = new Gauge({ name: 'skiff_certificate_expiry_timestamp_seconds', help: 'When the workload certificate in use expires (Unix time).', registers });
    this.retries = new Counter({ name: 'skiff_retries_total', help: 'Retries sent, by cluster.', labelNames: ['cluster'], registers });
    this.ejections = new Counter({ name: 'skiff_outlier_ejections_total', help: 'Endpoints ejected after consecutive gateway errors, by cluster.', labelNames: ['cluster'], registers });
    this.connectionsRefused = new Counter({ name: 'skiff_connections_refused_total', help: 'Connections a listener cut before any request: failed or unverified TLS peers, timeouts, the connection cap.', labelNames: ['listener', 'reason'], registers });
    this.resolutions = new Histogram({ name: 'skiff_outbound_resolve_seconds', help: 'Hosts asked of the control plane on demand, by result (found, unknown, failed): the time from asking to the config that holds it applied.', labelNames: ['result'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2], registers });
    // Node's process metrics, except the event loop's delay, which loop-delay.ts samples only
    // while traffic flows: prom-client's own sampler (which cannot be paused) is given a period
    // it never reaches, and its gauges are replaced by LoopDelay's, under the same names.
    collectDefaultMetrics({ register: this.registry, prefix: PROCESS_PREFIX, eventLoopMonitoringPrecision: LONGEST_TIMER_MS });
    for (const name of loopDelayMetricNames(PROCESS_PREFIX)) this.registry.removeSingleMetric(name);
    this.loopDelay = new LoopDelay(this.registry, PROCESS_PREFIX);
    this.sample = accessLog.sample;
    this.log = accessLog.sample > 0 ? pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, accessLog.destination ?? process.stdout) : undefined;
  }

  /** One datagram of a captured UDP port, by result (the relay's count, per datagram). */
  countDatagram(port: number, result: string): void {
    this.loopDelay.busy();
    const key = `${port} ${result}`;
    let child = this.datagramChildren.get(key);
    if (!child) {
      child = this.datagrams.labels({ port: String(port), result });
      this.datagramChildren.set(key, child);
    }
    child.inc();
  }

  /** One on-demand question answered (on-demand.ts). */
  resolved(result: string, seconds: number): void {
    this.resolutions.labels({ result }).observe(seconds);
  }

  /** Counts and times a request: a map lookup and a few additions, no label hashing. */
  observe(labels: RequestLabels, status: number, durationMs: number): void {
    observeInto(this.aggregateOf(labels), status, durationMs);
  }

  private aggregateOf(labels: RequestLabels): RequestAggregate {
    const key = `${labels.direction}\u0001${labels.source_namespace}\u0001${labels.source_workload_kind}\u0001${labels.source_workload}\u0001${labels.destination_namespace}\u0001${labels.destination_workload_kind}\u0001${labels.destination_workload}\u0001${labels.destination_service}\u0001${labels.route}`;
    let a = this.aggregates.get(key);
    if (!a) {
      // Callers choose part of the labels (the workload their sidecar claims): past the cap,
      // new combinations count on one series per direction instead of growing without end.
      if (this.aggregates.size >= MAX_AGGREGATES) return this.overflowOf(labels.direction);
      a = new RequestAggregate({ ...labels });
      this.aggregates.set(key, a);
    }
    return a;
  }

  private overflowOf(direction: RequestLabels['direction']): RequestAggregate {
    const key = `\u0000overflow\u0001${direction}`;
    let a = this.aggregates.get(key);
    if (!a) {
      a = new RequestAggregate({
        direction, source_namespace: '', source_workload_kind: '', source_workload: OVERFLOW_WORKLOAD,
        destination_namespace: '', destination_workload_kind: '', destination_workload: '', destination_service: '', route: '',
      });
      this.aggregates.set(key, a);
    }
    return a;
  }

  /** countersFor when the pair was seen before (undefined otherwise): no `describe` function needs making. */
  knownCounters(scope: object, detail: object): RequestCounters | undefined {
    return this.byIdentity.get(scope)?.get(detail);
  }

  /**
   * The counters of requests whose labels and series follow from two objects of the
   * immutable config state (a route and the endpoint that answered, say): found by identity,
   * so the hot path builds no label object and no key string. `describe` runs once per pair.
   */
  countersFor(scope: object, detail: object, describe: () => { labels: RequestLabels; series: SeriesKey }): RequestCounters {
    let byDetail = this.byIdentity.get(scope);
    if (!byDetail) {
      byDetail = new WeakMap();
      this.byIdentity.set(scope, byDetail);
    }
    let counters = byDetail.get(detail);
    if (!counters) {
      counters = this.countersOf(describe());
      byDetail.set(detail, counters);
    }
    return counters;
  }

  /**
   * countersFor for requests described by a short key string (inbound: the caller's claimed
   * workload, the Service, the route), where no object of the config state stands for them.
   * At most MAX_KEYED entries are kept (callers choose part of the key); beyond, each request
   * is described again.
   */
  countersForKey(key: string, describe: () => { labels: RequestLabels; series: SeriesKey }): RequestCounters {
    let counters = this.byKey.get(key);
    if (!counters) {
      counters = this.countersOf(describe());
      if (this.byKey.size < MAX_KEYED) this.byKey.set(key, counters);
    }
    return counters;
  }

  /** countersForKey when the key was seen before (undefined otherwise): no `describe` function needs making. */
  knownCountersForKey(key: string): RequestCounters | undefined {
    return this.byKey.get(key);
  }

  private countersOf({ labels, series }: { labels: RequestLabels; series: SeriesKey }): RequestCounters {
    return { aggregate: this.aggregateOf(labels), series: this.traffic.seriesOf(series) };
  }

  /** Counts one request on counters from countersFor: Prometheus and the traffic report. */
  count(counters: RequestCounters, status: number, generated: string | undefined, durationMs: number): void {
    this.loopDelay.busy();
    observeInto(counters.aggregate, status, durationMs);
    this.traffic.recordSeries(counters.series, status, generated, durationMs);
  }

  /** Whether to log this request (draws the sample); callers build the entry only then. */
  logThis(): boolean {
    return this.log !== undefined && (this.sample >= 1 || Math.random() < this.sample);
  }

  accessLog(entry: Record<string, unknown>): void {
    this.log?.info(entry);
  }

  /** Exports the bound on requests in flight (overload.ts): the count, the limit and the requests shed. */
  watchInFlight(inFlight: InFlightRequests): void {
    const directions = ['inbound', 'outbound'] as const;
    this.registry.registerMetric(collected('skiff_requests_in_flight', 'HTTP requests (and TCP connections to Services) in flight, by direction (listener).', 'gauge', () =>
      directions.map((direction) => ({ labels: { direction }, value: inFlight.current[direction] }))) as never);
    this.registry.registerMetric(collected('skiff_requests_in_flight_limit', 'The most requests in flight in each direction the memory limit allows; beyond, 503 overloaded.', 'gauge', () => [{ labels: {}, value: inFlight.max }]) as never);
    this.registry.registerMetric(collected('skiff_requests_shed_total', 'Requests answered 503 overloaded (the in-flight limit reached), by direction.', 'counter', () =>
      directions.map((direction) => ({ labels: { direction }, value: inFlight.shed[direction] }))) as never);
  }

  /** Stops the event loop's sampler (the proxy closes). */
  stop(): void {
    this.loopDelay.stop();
  }
}
