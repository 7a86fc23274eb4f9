/** Semantic rules for TrafficTarget beyond its schema. */
import { issue, type Issue, type ObjectRef } from '../../errors/issue.ts';
import { field, list, text } from './common.ts';

export const RULE_KINDS = ['HTTPRouteGroup', 'TCPRoute', 'UDPRoute'] as const;

/** Where each version keeps destination, sources and rules. */
export function targetLayout(version: string): { base: string; rulesField: 'specs' | 'rules' } {
  return version === 'v1alpha1' ? { base: '', rulesField: 'specs' } : { base: 'spec', rulesField: 'rules' };
}

function at(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}

export function parsePort(port: unknown): number | undefined {
  const n = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function subjectIssues(subject: unknown, path: string, object: ObjectRef): Issue[] {
  const kind = field(subject, 'kind');
  if (kind === undefined || kind === 'ServiceAccount') return [];
  const hint = kind === 'Group' ? ' (identity groups are not supported)' : '';
  return [issue('SKIFF_E_TARGET_SUBJECT_KIND', `${path}.kind`, `must be ServiceAccount, got ${JSON.stringify(kind)}${hint}`, object)];
}

export function validateTrafficTarget(raw: unknown, version: string, object: ObjectRef): Issue[] {
  const out: Issue[] = [];
  const { base, rulesField } = targetLayout(version);
  const container = base === '' ? raw : field(raw, base);
  const destination = field(container, 'destination');
  const destPath = at(base, 'destination');
  out.push(...subjectIssues(destination, destPath, object));

  const destNs = text(field(destination, 'namespace'));
  if (destNs !== undefined && object.namespace !== undefined && destNs !== object.namespace) {
    out.push(issue('SKIFF_E_TARGET_DESTINATION_NAMESPACE', `${destPath}.namespace`,
      `"${destNs}" differs from the TrafficTarget's namespace "${object.namespace}"; a TrafficTarget may only grant access to identities of its own namespace`, object));
  }
  const port = field(destination, 'port');
  if (port !== undefined && version !== 'v1alpha3' && parsePort(port) === undefined) {
    out.push(issue('SKIFF_E_TARGET_PORT', `${destPath}.port`, `must be a port number from 1 to 65535, got ${JSON.stringify(port)}`, object));
  }

  const sources = list(field(container, 'sources'));
  sources.forEach((s, i) => out.push(...subjectIssues(s, `${at(base, 'sources')}[${i}]`, object)));
  const rules = list(field(container, rulesField));
  if (version === 'v1alpha3') {
    if (field(container, 'rules') !== undefined && rules.length === 0) {
      out.push(issue('SKIFF_E_TARGET_NO_RULES', 'spec.rules', 'a v1alpha3 TrafficTarget needs at least one rule; without rules it would allow nothing', object));
    }
    if (field(container, 'sources') !== undefined && sources.length === 0) {
      out.push(issue('SKIFF_E_TARGET_NO_SOURCES', 'spec.sources', 'a v1alpha3 TrafficTarget needs at least one source; without sources it would allow nothing', object));
    }
  }
  rules.forEach((rule, i) => {
    const path = `${at(base, rulesField)}[${i}]`;
    const kind = field(rule, 'kind');
    if (kind !== undefined && !(RULE_KINDS as readonly unknown[]).includes(kind)) {
      out.push(issue('SKIFF_E_TARGET_RULE_KIND', `${path}.kind`, `must be one of ${RULE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`, object));
    }
    if ((kind === 'TCPRoute' || kind === 'UDPRoute') && list(field(rule, 'matches')).length > 0) {
      out.push(issue('SKIFF_W_TARGET_RULE_MATCHES_IGNORED', `${path}.matches`, `${kind} has no named matches; these names are ignored and every port of the route applies`, object));
    }
  });
  return out;
}
