/** Helpers shared by the semantic validators: safe field access and name rules. */
import { issue, type Issue, type ObjectRef } from '../../errors/issue.ts';

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && DNS_LABEL.test(name);
}

/** metadata.name must be a DNS subdomain; metadata.namespace, if set, a DNS label. */
export function validateMetadata(raw: unknown, object: ObjectRef): Issue[] {
  const metadata = field(raw, 'metadata');
  const name = field(metadata, 'name');
  const namespace = field(metadata, 'namespace');
  const out: Issue[] = [];
  if (typeof name !== 'string' || name === '') {
    out.push(issue('SKIFF_E_METADATA_NAME', 'metadata.name', 'is required', object));
  } else if (!isDnsSubdomain(name)) {
    out.push(issue('SKIFF_E_METADATA_NAME', 'metadata.name', `"${name}" must be a lowercase DNS subdomain (a-z, 0-9, "-" and ".", at most 253 characters)`, object));
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || !isDnsLabel(namespace))) {
    out.push(issue('SKIFF_E_METADATA_NAME', 'metadata.namespace', `${JSON.stringify(namespace)} must be a lowercase DNS label (a-z, 0-9 and "-", at most 63 characters)`, object));
  }
  return out;
}
