/** Semantic rules for TrafficPolicy beyond its schema, and Gateway API durations. */
import { issue, type Issue, type ObjectRef } from '../../errors/issue.ts';
import { SMI_GROUPS } from '../meta.ts';
import { field, isRecord, list, text } from './common.ts';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** "1m30s" → 90000; undefined when not a Gateway API duration (1–4 parts of 1–5 digits with h, m, s or ms). */
export function parseDuration(text: string): number | undefined {
  if (!/^([0-9]{1,5}(h|ms|m|s)){1,4}$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]{1,5})(h|ms|m|s)/g)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return total;
}

const SECTIONS = ['timeouts', 'retries', 'circuitBreaker', 'outlierDetection', 'rateLimit', 'faultInjection'] as const;

export function validateTrafficPolicy(raw: unknown, _version: string, object: ObjectRef): Issue[] {
  const out: Issue[] = [];
  const spec = field(raw, 'spec');
  const seen = new Map<string, number>();
  let routeOnly = true;
  list(field(spec, 'targetRefs')).forEach((ref, i) => {
    const path = `spec.targetRefs[${i}]`;
    const kind = text(field(ref, 'kind'));
    const group = text(field(ref, 'group'));
    if (kind === 'Service') {
      routeOnly = false;
      if (group !== undefined && group !== '' && group !== 'core') out.push(issue('SKIFF_E_POLICY_TARGET', `${path}.group`, `a Service is in the core group (""), not ${JSON.stringify(group)}`, object));
      if (field(ref, 'match') !== undefined) out.push(issue('SKIFF_E_POLICY_TARGET', `${path}.match`, 'a Service has no matches; target the HTTPRouteGroup to attach to a route', object));
    } else if (kind === 'HTTPRouteGroup') {
      if (group !== undefined && group !== SMI_GROUPS.specs) out.push(issue('SKIFF_E_POLICY_TARGET', `${path}.group`, `an HTTPRouteGroup is in ${SMI_GROUPS.specs}, not ${JSON.stringify(group)}`, object));
      if (field(ref, 'port') !== undefined) out.push(issue('SKIFF_E_POLICY_TARGET', `${path}.port`, 'an HTTPRouteGroup has no ports; target the Service to attach to a port', object));
    }
    const id = `${kind}/${text(field(ref, 'name'))}/${String(field(ref, 'port') ?? '')}/${text(field(ref, 'match')) ?? ''}`;
    const first = seen.get(id);
    if (first !== undefined) out.push(issue('SKIFF_E_POLICY_TARGET', path, `the same target as spec.targetRefs[${first}]`, object));
    else seen.set(id, i);
  });
  if (isRecord(spec) && !SECTIONS.some((s) => spec[s] !== undefined)) {
    out.push(issue('SKIFF_W_POLICY_EMPTY', 'spec', `sets none of ${SECTIONS.join(', ')}; it changes nothing`, object));
  }
  if (routeOnly && field(spec, 'rateLimit') !== undefined) {
    out.push(issue('SKIFF_W_POLICY_SCOPE', 'spec.rateLimit', 'a rate limit protects the pods of a Service, so it applies only through Service targets; this policy has none', object));
  }
  const timeouts = field(spec, 'timeouts');
  for (const name of ['request', 'perTry', 'idle', 'streamIdle']) {
    const value = field(timeouts, name);
    if (typeof value === 'string' && parseDuration(value) === undefined) out.push(issue('SKIFF_E_POLICY_DURATION', `spec.timeouts.${name}`, `${JSON.stringify(value)} is not a duration such as "2s", "500ms" or "1m30s"`, object));
  }
  const request = parseDuration(text(field(timeouts, 'request')) ?? '');
  const perTry = parseDuration(text(field(timeouts, 'perTry')) ?? '');
  if (request !== undefined && perTry !== undefined && request > 0 && perTry > request) {
    out.push(issue('SKIFF_W_POLICY_SCOPE', 'spec.timeouts.perTry', `is longer than the request timeout (${text(field(timeouts, 'request'))}); no retry would ever start`, object));
  }
  return out;
}
