/** Exponential backoff with jitter: between half and all of `base·2^attempt`, capped at `max`. */
export function backoffMs(attempt: number, base: number, max: number): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
