/**
 * setTimeout for the timers a proxy arms per request and nearly always clears long before
 * they fire (a request's timeout, its per-try timeout, a stream's idle time).
 *
 * Node keeps one list of timers per duration and drops the list when its last timer is
 * cleared. At a modest rate (1,000 requests/s answered in under a millisecond) most requests
 * find their duration's list gone and build it again: a new list, an insert into the priority
 * queue of lists, a property added to a dictionary-mode object, and the libuv timer re-armed,
 * then all undone when the request ends: 0.5-1 % of a sidecar's CPU samples at 1,000 rps
 * (perf, two runs), none with the keeper. A keeper, one unref'd interval of the same duration,
 * keeps the list alive: it costs one wake-up per duration elapsed and holds no process open.
 * Durations come from route policies, so there are few; past MAX_KEPT the timer is armed
 * without a keeper.
 */
const MAX_KEPT = 64;
/**
 * Node times at most 2^31-1 ms (24.8 days) and arms a longer timer for 1 ms instead (a policy
 * may say `99999h`): a longer duration arms nothing, which is what it means in practice.
 */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;
const keepers = new Map<number, NodeJS.Timeout>();

function keep(): void {}

export function setRequestTimer<A, B>(callback: (a: A, b: B) => void, ms: number, a: A, b: B): NodeJS.Timeout | undefined;
export function setRequestTimer<A>(callback: (a: A) => void, ms: number, a: A): NodeJS.Timeout | undefined;
export function setRequestTimer<A, B>(callback: (a: A, b: B | undefined) => void, ms: number, a: A, b?: B): NodeJS.Timeout | undefined {
  if (ms > LONGEST_TIMER_MS) return undefined;
  if (keepers.size < MAX_KEPT && !keepers.has(ms)) keepers.set(ms, setInterval(keep, ms).unref());
  return setTimeout(callback, ms, a, b);
}

/** The durations whose timer lists are kept (for tests). */
export function keptDurations(): number[] {
  return [...keepers.keys()];
}
