/**
 * Metrics (prom-client) and the access log (pino). Metric names and labels are documented in
 * docs/metrics.md; labels take values from the config (services, workloads, routes) and the
 * status code, so cardinality stays bounded by the mesh's size, never by request content.
 */
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

const REQUEST_LABELS = ['direction', 'source_namespace', 'source_workload_kind', 'source_workload', 'destination_namespace', 'destination_workload_kind', 'destination_workload', 'destination_service', 'route'] as const;
const BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

interface Children {
  duration: { observe(v: number): void };
  byStatus: Map<number, { inc(): void }>;
}

export interface AccessLogOptions {
  /** Share of requests logged, 0 (off, the default) to 1 (all). */
  sample: number;
  destination?: NodeJS.WritableStream;
}

export class Telemetry {
  readonly registry = new Registry();
  readonly requests: Counter<string>;
  readonly duration: Histogram<string>;
  readonly tcpConnections: Counter<string>;
  readonly tcpBytes: Counter<string>;
  readonly configInfo: Gauge<string>;
  readonly configUpdates: Counter<string>;
  readonly certificateExpiry: Gauge<string>;
  readonly retries: Counter<string>;
  readonly ejections: Counter<string>;
  private readonly children = new Map<string, Children>();
  private readonly log: Logger | undefined;
  private readonly sample: number;

  constructor(accessLog: AccessLogOptions = { sample: 0 }) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'skiff_requests_total', help: 'HTTP requests handled, by direction, source, destination, route and status code.', labelNames: [...REQUEST_LABELS, 'status_code'], registers });
    this.duration = new Histogram({ name: 'skiff_request_duration_ms', help: 'Time from request to the end of the response, in milliseconds.', labelNames: [...REQUEST_LABELS], buckets: BUCKETS_MS, registers });
    this.tcpConnections = new Counter({ name: 'skiff_tcp_connections_total', help: 'TCP connections proxied, by direction and destination.', labelNames: ['direction', 'destination_namespace', 'destination_service', 'result'], registers });
    this.tcpBytes = new Counter({ name: 'skiff_tcp_bytes_total', help: 'Bytes carried on proxied TCP connections, by direction of flow.', labelNames: ['direction', 'destination_namespace', 'destination_service', 'flow'], registers });
    this.configInfo = new Gauge({ name: 'skiff_config_info', help: 'The config in force (value 1), labelled with its hash.', labelNames: ['hash'], registers });
    this.configUpdates = new Counter({ name: 'skiff_config_updates_total', help: 'Configs received, by result (applied or rejected).', labelNames: ['result'], registers });
    this.certificateExpiry = new Gauge({ name: 'skiff_certificate_expiry_timestamp_seconds', help: 'When the workload certificate in use expires (Unix time).', registers });
    this.retries = new Counter({ name: 'skiff_retries_total', help: 'Retries sent, by cluster.', labelNames: ['cluster'], registers });
    this.ejections = new Counter({ name: 'skiff_outlier_ejections_total', help: 'Endpoints ejected after consecutive gateway errors, by cluster.', labelNames: ['cluster'], registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'skiff_proxy_' });
    this.sample = accessLog.sample;
    this.log = accessLog.sample > 0 ? pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, accessLog.destination ?? process.stdout) : undefined;
  }

  /** Counts and times a request; label children are cached so the hot path does no hashing of label sets. */
  observe(labels: RequestLabels, status: number, durationMs: number): void {
    const key = `${labels.direction}\u0001${labels.source_namespace}\u0001${labels.source_workload_kind}\u0001${labels.source_workload}\u0001${labels.destination_namespace}\u0001${labels.destination_workload_kind}\u0001${labels.destination_workload}\u0001${labels.destination_service}\u0001${labels.route}`;
    let c = this.children.get(key);
    if (!c) {
      c = { duration: this.duration.labels({ ...labels }), byStatus: new Map() };
      this.children.set(key, c);
    }
    let counter = c.byStatus.get(status);
    if (!counter) {
      counter = this.requests.labels({ ...labels, status_code: String(status) });
      c.byStatus.set(status, counter);
    }
    counter.inc();
    c.duration.observe(durationMs);
  }

  /** Drops cached children when the config changes, so labels of removed services do not pile up. */
  resetChildren(): void {
    this.children.clear();
  }

  accessLog(entry: Record<string, unknown>): void {
    if (this.log && (this.sample >= 1 || Math.random() < this.sample)) this.log.info(entry);
  }
}
