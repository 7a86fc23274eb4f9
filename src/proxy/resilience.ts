/**
 * Resilience primitives, each small and clock-driven so tests can reason about them:
 * retry budget, token bucket, outlier ejection with half-open recovery.
 */

/**
 * Retries may add at most `percent`% of the requests seen in the last second, plus
 * `minPerSecond`, so a failing upstream never gets a retry storm on top of its load.
 */
export class RetryBudget {
  private windowStart = 0;
  private requests = 0;
  private retries = 0;

  private percent: number;
  private minPerSecond: number;
  private readonly now: () => number;

  constructor(percent: number, minPerSecond: number, now: () => number = Date.now) {
    this.percent = percent;
    this.minPerSecond = minPerSecond;
    this.now = now;
  }

  configure(percent: number, minPerSecond: number): void {
    this.percent = percent;
    this.minPerSecond = minPerSecond;
  }

  private roll(): void {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.requests = 0;
      this.retries = 0;
    }
  }

  recordRequest(): void {
    this.roll();
    this.requests++;
  }

  /** Takes one retry from the budget if there is one. */
  tryRetry(): boolean {
    this.roll();
    if (this.retries >= this.minPerSecond + (this.requests * this.percent) / 100) return false;
    this.retries++;
    return true;
  }
}

/** Token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private rate: number;
  private burst: number;
  private readonly now: () => number;

  constructor(rate: number, burst: number, now: () => number = Date.now) {
    this.rate = rate;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  configure(rate: number, burst: number): void {
    if (rate === this.rate && burst === this.burst) return;
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Health of one endpoint as seen by this proxy. */
export class OutlierState {
  consecutiveFailures = 0;
  ejections = 0;
  ejectedUntil = 0;
  /** After an ejection ends the endpoint is on probation: one failure ejects it again. */
  halfOpen = false;

  isEjected(now: number): boolean {
    if (this.ejectedUntil === 0) return false;
    if (now < this.ejectedUntil) return true;
    this.ejectedUntil = 0;
    this.halfOpen = true;
    return false;
  }

  /** Records a result; returns true when this failure ejected the endpoint. */
  record(ok: boolean, now: number, threshold: number, baseEjectionMs: number): boolean {
    if (ok) {
      this.consecutiveFailures = 0;
      if (this.halfOpen) {
        this.halfOpen = false;
        this.ejections = 0;
      }
      return false;
    }
    this.consecutiveFailures++;
    if (threshold <= 0) return false;
    if (this.halfOpen || this.consecutiveFailures >= threshold) {
      this.ejections++;
      this.halfOpen = false;
      this.consecutiveFailures = 0;
      // Each ejection in a row lasts longer, up to ten times the base.
      this.ejectedUntil = now + baseEjectionMs * Math.min(this.ejections, 10);
      return true;
    }
    return false;
  }
}
