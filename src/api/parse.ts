/**
 * The API layer's entry point: take any decoded document, decide whether it is an SMI object,
 * validate it (schema, then semantic rules) and convert it to the hub. Never throws; every
 * problem comes back as an Issue with a stable code.
 */
import { hasErrors, issue, type Issue, type ObjectRef } from '../errors/issue.ts';
import { convert, toHub } from './convert/index.ts';
import { findKind, isSmiGroup, splitApiVersion, SMI_GROUPS, type SmiKind } from './meta.ts';
import type { VersionedObject } from './types/common.ts';
import type { HubObject } from './types/hub.ts';
import { field, isRecord, text } from './validate/common.ts';
import { validateMetadata } from './validate/common.ts';
import { validateSchema } from './validate/schema.ts';
import { validateTrafficTarget } from './validate/access.ts';
import { validateTrafficSplit } from './validate/split.ts';
import { validateHTTPRouteGroup, validatePortRoute } from './validate/specs.ts';
import { validateTrafficPolicy } from './validate/policy.ts';

export interface ParsedObject {
  ref: ObjectRef;
  kind?: SmiKind;
  version?: string;
  /** Present when the object has no errors. */
  hub?: HubObject;
  issues: Issue[];
}

type SemanticRule = (raw: unknown, version: string, ref: ObjectRef) => Issue[];

const SEMANTIC_RULES: Record<SmiKind, SemanticRule> = {
  TrafficSplit: validateTrafficSplit,
  TrafficTarget: validateTrafficTarget,
  HTTPRouteGroup: validateHTTPRouteGroup,
  TCPRoute: validatePortRoute,
  UDPRoute: validatePortRoute,
  TrafficPolicy: validateTrafficPolicy,
};

/** True for documents of an API group that Skiff reads: SMI (TrafficMetrics is served, not read) and policy.skiff.dev. */
export function isSmiDocument(doc: unknown): boolean {
  const apiVersion = text(field(doc, 'apiVersion'));
  if (apiVersion === undefined) return false;
  const { group } = splitApiVersion(apiVersion);
  return isSmiGroup(group) && group !== SMI_GROUPS.metrics;
}

export function objectRefOf(doc: unknown): ObjectRef {
  const metadata = field(doc, 'metadata');
  const ref: ObjectRef = { kind: text(field(doc, 'kind')) ?? '(no kind)' };
  const namespace = text(field(metadata, 'namespace'));
  const name = text(field(metadata, 'name'));
  if (namespace !== undefined) ref.namespace = namespace;
  if (name !== undefined) ref.name = name;
  return ref;
}

/** A schema issue on a path a semantic rule already explains is noise: keep the specific one. */
function withoutShadowedSchemaIssues(schema: Issue[], semantic: Issue[]): Issue[] {
  const explained = semantic.filter((i) => i.severity === 'error').map((i) => i.path);
  const covered = (path: string) => explained.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
  return schema.filter((i) => i.code !== 'SKIFF_E_SCHEMA' || !covered(i.path));
}

export function parseSmiObject(doc: unknown): ParsedObject {
  const ref = objectRefOf(doc);
  const { group, version } = splitApiVersion(text(field(doc, 'apiVersion')) ?? '');
  const info = findKind(group, ref.kind);
  if (!info) {
    return { ref, issues: [issue('SKIFF_E_UNKNOWN_KIND', 'kind', `${group} has no kind ${JSON.stringify(ref.kind)}`, ref)] };
  }
  if (!info.versions.includes(version)) {
    const draft = group === SMI_GROUPS.access && version === 'v1alpha4' ? ' (access v1alpha4 with IdentityBinding was a draft that never shipped)' : '';
    const message = `${info.kind} ${version} is not served; Skiff serves ${info.versions.join(', ')}${draft}`;
    return { ref, kind: info.kind, version, issues: [issue('SKIFF_E_UNSERVED_VERSION', 'apiVersion', message, ref)] };
  }
  const semantic = [...validateMetadata(doc, ref), ...SEMANTIC_RULES[info.kind](doc, version, ref)];
  const schema = validateSchema(info.kind, version, doc, ref);
  const issues = [...withoutShadowedSchemaIssues(schema, semantic), ...semantic];
  const parsed: ParsedObject = { ref, kind: info.kind, version, issues };
  if (hasErrors(issues) || !isRecord(doc)) return parsed;
  try {
    parsed.hub = toHub(doc as VersionedObject);
  } catch (err) {
    issues.push(issue('SKIFF_E_CONVERSION', '', `cannot read as the hub: ${err instanceof Error ? err.message : String(err)}`, ref));
  }
  return parsed;
}

/** Converts with validation first; the conversion webhook and `skiff convert` use this. */
export function convertChecked(doc: unknown, version: string): { object?: VersionedObject; issues: Issue[] } {
  const parsed = parseSmiObject(doc);
  if (!parsed.hub) return { issues: parsed.issues };
  try {
    return { object: convert(doc as VersionedObject, version), issues: parsed.issues };
  } catch (err) {
    return { issues: [...parsed.issues, issue('SKIFF_E_CONVERSION', 'apiVersion', err instanceof Error ? err.message : String(err), parsed.ref)] };
  }
}
