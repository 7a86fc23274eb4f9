/**
 * bench/proxy-targets: one bench:proxy run judged against issue 18's targets, each beside what
 * the Node floor (bench/node-floor.ts: node:http + undici, no Skiff code) measured in the same
 * run. A target Skiff misses is "at the floor" when the floor misses it too and Skiff is within
 * AT_FLOOR of the floor's own number: what Node itself costs on this host, not Skiff's code.
 */

/** How far above the floor's own number still counts as the floor (runs here move by ±10 % and more). */
export const AT_FLOOR = 1.1;

export interface TargetRow {
  target: string;
  /** The bound and its direction: `max` (Skiff ≤ bound) or `min` (Skiff ≥ bound). */
  bound: number;
  kind: 'max' | 'min';
  skiff: number;
  /** The same quantity for the Node floor (or its nearest row), in the same run. */
  floor: number;
  floorName: string;
  unit: string;
  /** Digits to print. */
  digits: number;
}

const meets = (row: Pick<TargetRow, 'bound' | 'kind'>, value: number) => (row.kind === 'max' ? value <= row.bound : value >= row.bound);

/** Met; not met while the floor misses it too and Skiff is within AT_FLOOR of it; or not met. */
export function verdict(row: TargetRow): 'met' | 'at the floor' | 'not met' {
  if (!Number.isFinite(row.skiff)) return 'not met';
  if (meets(row, row.skiff)) return 'met';
  const withinFloor = row.kind === 'max' ? row.skiff <= row.floor * AT_FLOOR : row.skiff * AT_FLOOR >= row.floor;
  return !meets(row, row.floor) && withinFloor ? 'at the floor' : 'not met';
}

/** The table bench:proxy prints last. */
export function targetLines(rows: readonly TargetRow[]): string[] {
  const width = Math.max(...rows.map((r) => r.target.length));
  const num = (row: TargetRow, n: number) => (Number.isFinite(n) ? n.toFixed(row.digits) : 'n/a');
  return rows.map((row) => {
    const ratio = Number.isFinite(row.skiff / row.floor) ? ` (${(row.skiff / row.floor).toFixed(2)}× the floor)` : '';
    const bound = `${row.kind === 'max' ? '≤' : '≥'} ${num(row, row.bound)}${row.unit}`;
    return `  ${row.target.padEnd(width)}  ${bound.padEnd(10)}  skiff ${num(row, row.skiff).padStart(7)}${row.unit}  ${row.floorName} ${num(row, row.floor)}${row.unit}${ratio}  → ${verdict(row)}`;
  });
}
