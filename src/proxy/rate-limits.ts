/**
 * Inbound rate limits, one token bucket per pod port that a TrafficPolicy limits, or one per
 * caller identity on that port (`perCaller`; plaintext callers share one). Buckets survive
 * config swaps while their limit stays; the per-caller table is bounded (a dropped bucket is
 * one that would have been full again soon, the least recently used).
 */
import type { InboundPort } from '../config/index.ts';
import { TokenBucket } from './resilience.ts';

const MAX_CALLER_BUCKETS = 10_000;
const ANONYMOUS = '(no identity)';

export class InboundRateLimits {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Takes one request from the port's (or the caller's) bucket; false means answer 429. */
  take(port: InboundPort, identity: string | undefined): boolean {
    const limit = port.rateLimit;
    if (!limit) return true;
    const key = limit.perCaller ? `${port.port}|${identity ?? ANONYMOUS}` : String(port.port);
    let bucket = this.buckets.get(key);
    if (bucket) {
      bucket.configure(limit.requestsPerSecond, limit.burst);
      if (limit.perCaller) {
        // Most recently used last, so the oldest entry is the least recently used.
        this.buckets.delete(key);
        this.buckets.set(key, bucket);
      }
    } else {
      bucket = new TokenBucket(limit.requestsPerSecond, limit.burst, this.now);
      this.buckets.set(key, bucket);
      if (this.buckets.size > MAX_CALLER_BUCKETS) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    return bucket.take();
  }

  /** Drops the buckets of ports that no longer have a limit. */
  retain(ports: readonly InboundPort[]): void {
    const limited = new Set(ports.filter((p) => p.rateLimit).map((p) => String(p.port)));
    for (const key of this.buckets.keys()) if (!limited.has(key.split('|')[0] as string)) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}
