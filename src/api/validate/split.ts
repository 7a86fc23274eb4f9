/** Semantic rules for TrafficSplit beyond its schema. */
import { issue, type Issue, type ObjectRef } from '../../errors/issue.ts';
import { parseQuantityMilli } from '../convert/quantity.ts';
import { field, list, text } from './common.ts';

export const MAX_WEIGHT = 2147483647;

function weightIssue(version: string, weight: unknown, path: string, object: ObjectRef): Issue | undefined {
  if (version === 'v1alpha1') {
    if (typeof weight !== 'string' && typeof weight !== 'number') {
      return issue('SKIFF_E_SPLIT_WEIGHT_QUANTITY', path, 'must be a quantity such as "1" or "500m"', object);
    }
    const q = parseQuantityMilli(weight);
    if (!q.ok) return issue('SKIFF_E_SPLIT_WEIGHT_QUANTITY', path, `must be a non-negative quantity: ${q.reason}`, object);
    if (q.milli > BigInt(MAX_WEIGHT)) return issue('SKIFF_E_SPLIT_WEIGHT_QUANTITY', path, `must be at most ${MAX_WEIGHT}m`, object);
    return undefined;
  }
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
    return issue('SKIFF_E_SPLIT_WEIGHT', path, `must be a non-negative integer, got ${JSON.stringify(weight)}`, object);
  }
  if (weight > MAX_WEIGHT) return issue('SKIFF_E_SPLIT_WEIGHT', path, `must be at most ${MAX_WEIGHT}`, object);
  return undefined;
}

function isZero(version: string, weight: unknown): boolean {
  if (version !== 'v1alpha1') return weight === 0;
  if (typeof weight !== 'string' && typeof weight !== 'number') return false;
  const q = parseQuantityMilli(weight);
  return q.ok && q.milli === 0n;
}

export function validateTrafficSplit(raw: unknown, version: string, object: ObjectRef): Issue[] {
  const out: Issue[] = [];
  const spec = field(raw, 'spec');
  const root = text(field(spec, 'service'));
  const backends = list(field(spec, 'backends'));
  const seen = new Map<string, number>();
  backends.forEach((backend, i) => {
    const path = `spec.backends[${i}]`;
    const w = field(backend, 'weight');
    if (w !== undefined) {
      const problem = weightIssue(version, w, `${path}.weight`, object);
      if (problem) out.push(problem);
    }
    const service = text(field(backend, 'service'));
    if (service === undefined) return;
    const first = seen.get(service);
    if (first !== undefined) {
      out.push(issue('SKIFF_E_SPLIT_DUPLICATE_BACKEND', `${path}.service`, `"${service}" is already a backend at spec.backends[${first}]; list each Service once`, object));
    } else {
      seen.set(service, i);
    }
    if (service === root) {
      out.push(issue('SKIFF_W_SPLIT_SELF_BACKEND', `${path}.service`, `"${service}" is the root service itself; its traffic goes to the pods its own selector picks`, object));
    }
  });
  if (backends.length > 0 && backends.every((b) => isZero(version, field(b, 'weight')))) {
    out.push(issue('SKIFF_W_SPLIT_ALL_ZERO', 'spec.backends', 'every backend has weight 0, so split requests have nowhere to go (answered with 503)', object));
  }
  list(field(spec, 'matches')).forEach((m, i) => {
    const kind = field(m, 'kind');
    if (kind !== undefined && kind !== 'HTTPRouteGroup') {
      out.push(issue('SKIFF_E_SPLIT_MATCH_KIND', `spec.matches[${i}].kind`, `must be HTTPRouteGroup, got ${JSON.stringify(kind)}`, object));
    }
  });
  return out;
}
