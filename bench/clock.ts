/**
 * bench/clock: one clock for every process of a bench, in milliseconds.
 *
 * CLOCK_MONOTONIC (process.hrtime) is one clock for the whole machine. A process's
 * `performance.timeOrigin` is read from the wall clock when it starts, so two processes'
 * `timeOrigin + now()` differ by whatever the wall clock was adjusted between their starts: on
 * the VM these benches run on, it gains ~5 ms a second on the monotonic clock, so clients forked
 * seconds after the bench seemed to receive their configs tens of ms later than they did.
 */
export const clockMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * A time the control plane reported from its wall clock (Date.now()), on this clock: against
 * the wall clock read at `anchor` (a pair taken together), so only the drift within the
 * interval remains.
 */
export function fromWall(wallMs: number, anchor: { wall: number; clock: number }): number {
  return anchor.clock + (wallMs - anchor.wall);
}

export const anchorNow = (): { wall: number; clock: number } => ({ wall: Date.now(), clock: clockMs() });
