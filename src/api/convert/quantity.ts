/**
 * Kubernetes quantities for TrafficSplit v1alpha1 weights ("1", "500m", "1.5", "2k", 100).
 * Parsed exactly (bigint) to a milli-value; values finer than a milli are rejected rather than
 * rounded, so a weight never silently changes.
 */

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?(?:[eE]([+-]?\d+))?$/;

export type QuantityResult = { ok: true; milli: bigint } | { ok: false; reason: string };

export function parseQuantityMilli(input: string | number): QuantityResult {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: 'is not a finite number' };
    return parseQuantityMilli(String(input).replace(/e\+?/, 'e'));
  }
  const m = QUANTITY.exec(input.trim());
  if (!m || (m[3] !== undefined && m[4] !== undefined)) return { ok: false, reason: `"${input}" is not a Kubernetes quantity (examples: "1", "500m", "1.5")` };
  const [, sign, number = '', suffix = '', exponent] = m;
  const [whole = '', fraction = ''] = number.split('.');
  let mantissa = BigInt((whole || '0') + fraction);
  let pow10 = 3 - fraction.length + (DECIMAL_SUFFIX[suffix] ?? 0) + (exponent ? Number(exponent) : 0);
  const pow2 = BINARY_SUFFIX[suffix] ?? 0;
  if (Math.abs(pow10) > 100) return { ok: false, reason: `"${input}" is out of range` };
  mantissa *= 2n ** BigInt(pow2);
  if (pow10 >= 0) {
    mantissa *= 10n ** BigInt(pow10);
  } else {
    const divisor = 10n ** BigInt(-pow10);
    if (mantissa % divisor !== 0n) return { ok: false, reason: `"${input}" is finer than a milli-unit (1m = 0.001)` };
    mantissa /= divisor;
    pow10 = 0;
  }
  if (sign === '-' && mantissa !== 0n) return { ok: false, reason: `"${input}" is negative` };
  return { ok: true, milli: mantissa };
}

/** Canonical quantity text for a milli-value: "3" for 3000, "500m" for 500. */
export function formatMilli(milli: bigint): string {
  return milli % 1000n === 0n ? String(milli / 1000n) : `${milli}m`;
}
