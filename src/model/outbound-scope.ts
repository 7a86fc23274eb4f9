/**
 * Outbound scope: which Services a pod's proxy is configured for (Istio's Sidecar egress
 * hosts, as an annotation). `skiff.dev/outbound-scope` on a pod (its template) or its
 * namespace, the pod's winning: entries separated by commas or spaces, each
 * `<namespace>/<service>`, `<namespace>/*`, `./…` for the pod's own namespace, or `*` alone for
 * every Service. The proxy is configured for exactly those, up front, and a call outside them
 * gets 502 `unknown-host`. Absent: the proxy resolves the Services it calls on demand.
 * A malformed value is reported and ignored (the proxy reaches every Service): bad input never
 * takes routes away.
 */
import { issue, type Issue } from '../errors/issue.ts';

export const OUTBOUND_SCOPE_KEY = 'skiff.dev/outbound-scope';

const LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const ENTRY = new RegExp(`^(\\.|${LABEL})/(\\*|${LABEL})$`);
const MAX_ENTRIES = 1000;

/** The entries, normalised (`ns/name` or `ns/*`, sorted, each once), or a problem. */
export function parseOutboundScope(text: string, ownNamespace: string): { entries: string[] } | { problem: string } {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length > MAX_ENTRIES) return { problem: `more than ${MAX_ENTRIES} entries` };
  const entries = new Set<string>();
  if (parts.length === 1 && parts[0] === '*') return { entries: ['*'] };
  for (const part of parts) {
    if (!ENTRY.test(part)) return { problem: `"${part.slice(0, 100)}" is not <namespace>/<service>, <namespace>/* or ./<service> (or * alone)` };
    entries.add(part.startsWith('./') ? `${ownNamespace}/${part.slice(2)}` : part);
  }
  return { entries: [...entries].sort() };
}

/** A pod's scope from its own annotation or its namespace's; undefined (every Service, on demand) when neither sets one or it is malformed. */
export function outboundScopeOf(pod: { namespace: string; name: string; outboundScope?: string }, namespaceValue: string | undefined, issues: Issue[]): string[] | undefined {
  const text = pod.outboundScope ?? namespaceValue;
  if (text === undefined) return undefined;
  const parsed = parseOutboundScope(text, pod.namespace);
  if ('entries' in parsed) return parsed.entries;
  const where = pod.outboundScope !== undefined ? { kind: 'Pod', namespace: pod.namespace, name: pod.name } : { kind: 'Namespace', name: pod.namespace };
  issues.push(issue('SKIFF_W_OUTBOUND_SCOPE', `metadata.annotations.${OUTBOUND_SCOPE_KEY}`, `${parsed.problem}; ignored: the proxy reaches every Service`, where));
  return undefined;
}
