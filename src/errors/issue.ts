/** An Issue is a problem found in input: a stable code, where it is, and what rule it breaks. */
import { severityOf, type Code, type Severity } from './codes.ts';

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name?: string;
}

export interface Issue {
  code: Code;
  severity: Severity;
  /** Field path in the object as written, e.g. `spec.backends[1].weight`; empty for the whole object. */
  path: string;
  message: string;
  object?: ObjectRef;
}

export function issue(code: Code, path: string, message: string, object?: ObjectRef): Issue {
  return { code, severity: severityOf(code), path, message, ...(object ? { object } : {}) };
}

export function hasErrors(issues: readonly Issue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** `TrafficSplit/ns/name`, or `TrafficSplit/name` without a namespace. */
export function formatObjectRef(ref: ObjectRef): string {
  return [ref.kind, ref.namespace, ref.name ?? '(unnamed)'].filter((part) => part !== undefined && part !== '').join('/');
}

/** One line: `TrafficSplit/ns/name: spec.backends[1].weight: must be … [SKIFF_E_…]`, warnings prefixed `warning: `. */
export function formatIssue(i: Issue): string {
  const where = [i.object ? formatObjectRef(i.object) : undefined, i.path || undefined].filter(Boolean).join(': ');
  const prefix = i.severity === 'warning' ? 'warning: ' : '';
  return `${prefix}${where ? `${where}: ` : ''}${i.message} [${i.code}]`;
}
