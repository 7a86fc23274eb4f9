/**
 * Judging a progressive rollout from what a load client saw: per weight the TrafficSplit went
 * through, the share of requests the canary's pods answered. Pure; used by the delivery tests
 * on the real node.
 */

/** What the load client saw: [request start ms, status (0: no answer), hostname of the pod that answered]. */
export type Sample = [number, number, string];
/**
 * The canary's share of the split's weight: seen by a poll that returned at `t`; the poll
 * before it, which still saw the previous weight, asked at `notBefore` (so the change happened
 * after it: requests before `notBefore` met the previous weight, as far as the API knew).
 */
export interface WeightChange { t: number; canary: number; notBefore?: number }
export interface StepShare {
  canaryWeight: number; from: number; to: number; requests: number; toCanary: number; sigma: number; ok: boolean;
  /** At 0 % or 100 %: the first few requests answered on the wrong side (evidence for a failure message). */
  strays: Sample[];
}

/**
 * A sample is stamped when the client starts the request; its sidecar routes it when it
 * arrives there, which on a busy 2-core machine can be tens of ms later. A change the API
 * had not shown the last poll can be applied meanwhile (a real node's run: a request started
 * 8 ms before such a poll met the new weight, applied 18 ms after the start).
 */
export const START_TO_ROUTE_MS = 500;

/** Flagger's naming: the canary's pods are `<apex>-…`, the primary's `<apex>-primary-…`. */
export const isCanaryPod = (host: string, apex: string) => host.startsWith(`${apex}-`) && !host.startsWith(`${apex}-primary-`);

/**
 * Per weight period (after `settleMs` for the change to reach the proxies, until
 * START_TO_ROUTE_MS before the last poll that still saw it before the next change; 1.5 s
 * before the next change when that is not known): the share of answered requests the
 * canary's pods answered, against the weight, within ±4.5σ of a binomial draw (exact at 0 %
 * and 100 %). Periods with fewer than 20 requests are left out.
 */
export function sharesPerWeight(changes: readonly WeightChange[], samples: readonly Sample[], isCanary: (host: string) => boolean, settleMs = 2000): StepShare[] {
  const out: StepShare[] = [];
  for (const [i, change] of changes.entries()) {
    const from = change.t + settleMs;
    const next = changes[i + 1];
    // Up to when the previous weight was surely in force: the last poll that still saw it
    // (a slow poll on a busy machine can see a change seconds after it happened), less the
    // time a request may take from its start to the sidecar that routes it.
    const to = next === undefined ? Infinity : next.notBefore !== undefined ? next.notBefore - START_TO_ROUTE_MS : next.t - 1500;
    const inPeriod = samples.filter(([t, status]) => t >= from && t < to && status !== 0);
    if (inPeriod.length < 20) continue;
    const toCanary = inPeriod.filter(([, , host]) => isCanary(host)).length;
    const p = change.canary / 100;
    const sigma = Math.sqrt((p * (1 - p)) / inPeriod.length);
    const share = toCanary / inPeriod.length;
    const ok = p === 0 || p === 1 ? share === p : Math.abs(share - p) <= 4.5 * sigma;
    const strays = p === 0 || p === 1 ? inPeriod.filter(([, , host]) => isCanary(host) !== (p === 1)).slice(0, 5) : [];
    out.push({ canaryWeight: change.canary, from, to: Math.min(to, inPeriod.at(-1)?.[0] ?? to), requests: inPeriod.length, toCanary, sigma, ok, strays });
  }
  return out;
}
