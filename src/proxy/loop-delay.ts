/**
 * The event loop's delay, sampled only while the sidecar carries traffic.
 *
 * prom-client's default collector samples it all the time (a libuv timer every 100 ms here):
 * that timer was nearly every wake-up of an idle sidecar (10 of ~12 per second, ~1 ms of CPU
 * per second; a thousand idle pods spent a core on it). This collector exports the same
 * metrics under the same names, but its sampler runs only from the first request or
 * connection after a quiet spell until QUIET_MS (to twice that) pass with none. While it is off, the gauges
 * read 0 (nothing was delayed: nothing ran), and `…_eventloop_lag_seconds` (the delay of a
 * setImmediate at scrape time) is measured as before. The gauges say how late the sampler's
 * timer ran, without its period (prom-client's counted the period in: a min and p50 of 0.1 s
 * on an idle loop).
 */
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** How often the delay is sampled while traffic flows (a stall this long or longer is always seen). */
export const EVENT_LOOP_SAMPLE_MS = 100;
/** With no request or connection for this long, sampling stops until the next one. */
export const QUIET_MS = 5000;

/**
 * The gauges prom-client's collector defines, by name suffix, and how each is read from the
 * histogram. Node records the time between two of its timer's runs, the sampling period
 * included; what is exported is how late the timer ran (`late`: the period taken off, in
 * seconds), so an idle loop reads ~0, not 0.1 s.
 */
type Read = (h: ELDHistogram, late: (ns: number) => number) => number;
const SUMMARY: [suffix: string, help: string, read: Read][] = [
  ['min', 'The minimum recorded event loop delay.', (h, late) => late(h.min)],
  ['max', 'The maximum recorded event loop delay.', (h, late) => late(h.max)],
  ['mean', 'The mean of the recorded event loop delays.', (h, late) => late(h.mean)],
  ['stddev', 'The standard deviation of the recorded event loop delays.', (h) => h.stddev / 1e9],
  ['p50', 'The 50th percentile of the recorded event loop delays.', (h, late) => late(h.percentile(50))],
  ['p90', 'The 90th percentile of the recorded event loop delays.', (h, late) => late(h.percentile(90))],
  ['p99', 'The 99th percentile of the recorded event loop delays.', (h, late) => late(h.percentile(99))],
];

/** The metric names this collector owns (prom-client's default collector defines them too). */
export function loopDelayMetricNames(prefix: string): string[] {
  return [`${prefix}nodejs_eventloop_lag_seconds`, ...SUMMARY.map(([suffix]) => `${prefix}nodejs_eventloop_lag_${suffix}_seconds`)];
}

export class LoopDelay {
  private readonly histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  private sampling = false;
  /** Whether traffic came since the last quiet check. */
  private recent = false;
  private quietCheck: NodeJS.Timeout | undefined;
  private readonly quietMs: number;

  constructor(registry: Registry, prefix: string, quietMs = QUIET_MS) {
    this.quietMs = quietMs;
    const [lagName, ...summaryNames] = loopDelayMetricNames(prefix);
    const histogram = this.histogram;
    const late = (ns: number) => Math.max(0, ns - EVENT_LOOP_SAMPLE_MS * 1e6) / 1e9;
    // Registered first: a scrape reads the metrics in order, and this one's collect sets the others.
    new Gauge({
      name: lagName as string,
      help: 'Lag of event loop in seconds.',
      registers: [registry],
      // What was sampled since the last scrape (set before anything is awaited: the registry
      // reads every metric at once), then the delay of a setImmediate now.
      async collect() {
        const sampled = histogram.count > 0;
        for (const { read, gauge } of gauges) gauge.set(sampled ? read(histogram, late) : 0);
        histogram.reset();
        const started = process.hrtime.bigint();
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.set(Number(process.hrtime.bigint() - started) / 1e9);
      },
    });
    const gauges = SUMMARY.map(([, help, read], i) => ({ read, gauge: new Gauge({ name: summaryNames[i] as string, help, registers: [registry] }) }));
  }

  /** Traffic flows (a request counted, a connection or datagram carried): sample, if not already. Cheap enough per request. */
  busy(): void {
    this.recent = true;
    if (!this.sampling) this.start();
  }

  get active(): boolean {
    return this.sampling;
  }

  private start(): void {
    this.sampling = true;
    this.histogram.enable();
    this.quietCheck = setInterval(() => {
      if (this.recent) {
        this.recent = false;
        return;
      }
      this.stop();
    }, this.quietMs);
    this.quietCheck.unref();
  }

  /** Stops sampling (until the next busy()). */
  stop(): void {
    this.sampling = false;
    this.histogram.disable();
    clearInterval(this.quietCheck);
    this.quietCheck = undefined;
  }
}
