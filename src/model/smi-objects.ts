/**
 * Groups the parsed SMI documents by kind, gives objects without a namespace the `default`
 * one (as kubectl does), drops duplicates with a warning, and marks objects with errors
 * inactive. The rest of the model reads only these entries.
 */
import type { HubObject, ParsedObject, SmiKind } from '../api/index.ts';
import { issue, type Issue } from '../errors/issue.ts';
import { compareStrings, key } from './keys.ts';

export interface SmiEntry {
  kind: SmiKind;
  key: string;
  namespace: string;
  name: string;
  /** Present when the object is valid. */
  hub?: HubObject;
  sourceVersion: string;
  creationTimestamp?: string;
  active: boolean;
  issues: Issue[];
}

export type SmiByKind = Record<SmiKind, SmiEntry[]>;

export function groupSmiObjects(parsed: readonly ParsedObject[]): { byKind: SmiByKind; issues: Issue[] } {
  const byKind: SmiByKind = { TrafficSplit: [], TrafficTarget: [], HTTPRouteGroup: [], TCPRoute: [], UDPRoute: [], TrafficPolicy: [] };
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const p of parsed) {
    if (!p.kind || !p.version) {
      issues.push(...p.issues);
      continue;
    }
    const namespace = p.ref.namespace ?? 'default';
    const name = p.ref.name ?? '';
    const id = `${p.kind}/${namespace}/${name}`;
    if (seen.has(id)) {
      issues.push(issue('SKIFF_W_DUPLICATE_OBJECT', '', `${id} appears more than once; the first one is used`, { ...p.ref, namespace }));
      continue;
    }
    seen.add(id);
    const created = p.hub?.metadata.creationTimestamp;
    byKind[p.kind].push({
      kind: p.kind, key: key(namespace, name), namespace, name,
      ...(p.hub ? { hub: p.hub } : {}),
      sourceVersion: p.hub?.sourceVersion ?? `${p.ref.kind}/${p.version}`,
      ...(typeof created === 'string' ? { creationTimestamp: created } : {}),
      active: p.hub !== undefined,
      issues: p.issues.map((i) => ({ ...i, object: { ...(i.object ?? p.ref), namespace } })),
    });
  }
  for (const list of Object.values(byKind)) list.sort((a, b) => compareStrings(a.key, b.key));
  return { byKind, issues };
}
