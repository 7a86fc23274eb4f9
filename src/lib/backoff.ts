/** Exponential backoff with jitter: between half and all of `base·2^attempt`, capped at `max`. */
export function backoffMs(attempt: number, base: number, max: number): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** A wait that can be cut short: a retry loop sleeps in it; someone in a hurry shortens it. */
export class ShortenableWait {
  private current: { until: number; timer: NodeJS.Timeout; resolve: () => void } | undefined;

  /** Resolves after `ms`, or sooner when shortened or ended. */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.current = undefined;
        resolve();
      };
      this.current = { until: Date.now() + ms, timer: setTimeout(done, ms), resolve: done };
    });
  }

  /** The wait under way (if any) ends within `ms`. */
  shorten(ms: number): void {
    const current = this.current;
    if (!current || current.until - Date.now() <= ms) return;
    clearTimeout(current.timer);
    current.until = Date.now() + ms;
    current.timer = setTimeout(current.resolve, ms);
  }

  /** The wait under way (if any) ends now. */
  end(): void {
    if (!this.current) return;
    clearTimeout(this.current.timer);
    this.current.resolve();
  }
}
