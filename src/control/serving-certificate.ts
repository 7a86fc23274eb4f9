/**
 * The control plane's own TLS serving certificates (the webhooks', the config stream's), issued
 * from the mesh CA and renewed while the process runs: at half their lifetime a new one is
 * issued and handed to the running server (its setSecureContext), so a controller that runs for
 * months never serves an expired certificate. Connections open keep the one they began with.
 */
/** A serving certificate's lifetime: a week, renewed after half of it. */
export const SERVING_TTL_MS = 7 * 24 * 3600_000;

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

/**
 * Renews `current` at half its lifetime and hands each new one to `apply`. A failed issue (it
 * should not: the CA is in memory) is logged and tried again a minute later, never thrown into
 * a timer.
 */
export function renewServingCertificate(issue: () => ServingCertificate, apply: (cert: ServingCertificate) => void, log: (event: string, detail: Record<string, unknown>) => void, event = 'webhook-certificate-renewed'): { current: ServingCertificate; stop(): void } {
  const state = { current: issue(), timer: undefined as NodeJS.Timeout | undefined };
  const schedule = (waitMs = Math.max(1000, (state.current.notAfter.getTime() - Date.now()) / 2)) => {
    state.timer = setTimeout(() => {
      try {
        const next = issue();
        apply(next);
        state.current = next;
        log(event, { notAfter: state.current.notAfter.toISOString() });
        schedule();
      } catch (err) {
        log(`${event.replace(/-renewed$/, '')}-renewal-failed`, { error: (err as Error).message });
        schedule(60_000);
      }
    }, Math.min(waitMs, 2 ** 31 - 1));
    state.timer.unref();
  };
  schedule();
  return { get current() { return state.current; }, stop: () => clearTimeout(state.timer) };
}
