/**
 * SPIFFE IDs, formatted and parsed in one place. A workload identity is
 * `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`; anything else (another path
 * shape, a query, a fragment, characters outside the allowed sets) is not an identity.
 */

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** Trust domain: lower-case letters, digits, `.`, `-`, `_` (SPIFFE-ID §2.1). */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
/** Namespace and ServiceAccount names: Kubernetes DNS-1123 subdomain rules, at most 253 characters. */
const NAME = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;

/** The SPIFFE ID of a trust domain itself (the CA root carries it). */
export function trustDomainId(trustDomain: string): string {
  return `spiffe://${trustDomain}`;
}

/** Whether a name is a SPIFFE trust domain. */
export function isTrustDomain(name: string): boolean {
  return TRUST_DOMAIN.test(name);
}

export function formatSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The parts of a workload SPIFFE ID, or undefined when the text is not exactly one. */
export function parseSpiffeId(text: string): WorkloadIdentity | undefined {
  if (text.length > 2048 || !text.startsWith('spiffe://')) return undefined;
  const parts = text.slice('spiffe://'.length).split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return undefined;
  const [trustDomain, , namespace, , serviceAccount] = parts as [string, string, string, string, string];
  if (!TRUST_DOMAIN.test(trustDomain) || !NAME.test(namespace) || !NAME.test(serviceAccount)) return undefined;
  return { trustDomain, namespace, serviceAccount };
}

/**
 * The URI SANs of a certificate's `subjectAltName` text as Node prints it
 * (`URI:spiffe://…, DNS:…`). Node quotes values that contain `,` or `"`, so a quoted
 * entry never passes as an identity.
 */
export function uriSansOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName.split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

/**
 * The one workload identity a certificate names: exactly one URI SAN, and it is a workload
 * SPIFFE ID (in `trustDomain` when given). Two URI SANs are refused rather than picking one.
 */
export function certificateIdentity(subjectAltName: string | undefined, trustDomain?: string): { identity: string; parsed: WorkloadIdentity } | { problem: string } {
  const uris = uriSansOf(subjectAltName);
  if (uris.length === 0) return { problem: 'the certificate has no URI SAN' };
  if (uris.length > 1) return { problem: `the certificate has ${uris.length} URI SANs; a workload certificate has exactly one` };
  const identity = uris[0] as string;
  const parsed = parseSpiffeId(identity);
  if (!parsed) return { problem: `${identity.slice(0, 200)} is not a workload SPIFFE ID (spiffe://<trust domain>/ns/<namespace>/sa/<account>)` };
  if (trustDomain !== undefined && parsed.trustDomain !== trustDomain) return { problem: `${identity} is not in trust domain ${trustDomain}` };
  return { identity, parsed };
}
