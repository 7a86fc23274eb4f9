/**
 * `skiff stat` tables from TrafficMetrics (pure): one row per resource (or per backend of a
 * TrafficSplit, or per peer with --from/--to), with success rate, requests per second,
 * p50/p99 latency and denials; `wide` adds p90 and the raw counts.
 */
import type { TrafficMetrics } from '../control/traffic/query.ts';

export interface Row {
  name: string;
  success: number;
  failure: number;
  denied: number;
  p50?: number;
  p90?: number;
  p99?: number;
  backend?: { apex: string; name: string; weight: number };
}

/** A quantity as the API writes it ("296875m", "12") as a number. */
export function fromQuantity(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

export function rowOf(name: string, m: TrafficMetrics): Row {
  const value = (metric: string) => {
    const found = m.metrics.find((x) => x.name === metric);
    return found ? fromQuantity(found.value) : undefined;
  };
  const p50 = value('p50_response_latency');
  const p90 = value('p90_response_latency');
  const p99 = value('p99_response_latency');
  return {
    name, success: value('success_count') ?? 0, failure: value('failure_count') ?? 0, denied: value('denied_count') ?? 0,
    ...(p50 !== undefined ? { p50 } : {}), ...(p90 !== undefined ? { p90 } : {}), ...(p99 !== undefined ? { p99 } : {}),
    ...(m.backend ? { backend: m.backend } : {}),
  };
}

const ms = (v: number | undefined) => (v === undefined ? '-' : v >= 100 ? `${Math.round(v)}ms` : `${Number(v.toPrecision(2))}ms`);
const rate = (r: Row) => (r.success + r.failure === 0 ? '-' : `${((100 * r.success) / (r.success + r.failure)).toFixed(2)}%`);
const rps = (r: Row, seconds: number) => `${((r.success + r.failure) / seconds).toFixed(1)}rps`;

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('   ').trimEnd());
}

export function renderRows(rows: readonly Row[], windowSeconds: number, wide: boolean): string[] {
  if (rows.length === 0) return ['No traffic and no meshed pods found.'];
  const split = rows.some((r) => r.backend);
  const total = (apex: string) => rows.filter((r) => r.backend?.apex === apex).reduce((n, r) => n + r.success + r.failure + r.denied, 0);
  const weights = (apex: string) => rows.filter((r) => r.backend?.apex === apex).reduce((n, r) => n + (r.backend?.weight ?? 0), 0);
  const header = [...(split ? ['NAME', 'APEX', 'LEAF', 'WEIGHT', 'OBSERVED'] : ['NAME']), 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P99', 'DENIED', ...(wide ? ['LATENCY_P90', 'SUCCESS_COUNT', 'FAILURE_COUNT'] : [])];
  const body = rows.map((r) => {
    const b = r.backend;
    const splitCells = b ? [r.name, b.apex, b.name, weights(b.apex) ? `${((100 * b.weight) / weights(b.apex)).toFixed(0)}%` : '0%', total(b.apex) ? `${((100 * (r.success + r.failure + r.denied)) / total(b.apex)).toFixed(1)}%` : '-'] : [r.name];
    return [...(split ? splitCells : [r.name]), rate(r), rps(r, windowSeconds), ms(r.p50), ms(r.p99), String(r.denied), ...(wide ? [ms(r.p90), String(r.success), String(r.failure)] : [])];
  });
  return table(header, body);
}
