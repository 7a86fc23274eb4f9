/**
 * The choices `skiff install` offers and their defaults (the defaults are what deploy/ holds).
 * Bad values are reported as issues naming the flag, never silently replaced.
 */
import { issue, type Issue } from '../errors/issue.ts';
import { CONTROL_NAMESPACE } from '../inject/defaults.ts';
import { isTrustDomain } from '../lib/spiffe.ts';
import { DEFAULT_IMAGE } from '../lib/version.ts';
import { DEFAULT_MESH } from '../model/index.ts';

export interface InstallOptions {
  /** Where the controller, its CA Secret, Lease and mesh ConfigMap live. */
  namespace: string;
  /** The image of the controller and of every injected sidecar. */
  image: string;
  replicas: number;
  trustDomain: string;
  clusterDomain: string;
  defaultAccessMode: 'strict' | 'permissive';
}

export const DEFAULT_INSTALL: InstallOptions = {
  namespace: CONTROL_NAMESPACE, image: DEFAULT_IMAGE, replicas: 2,
  trustDomain: DEFAULT_MESH.trustDomain, clusterDomain: DEFAULT_MESH.clusterDomain, defaultAccessMode: DEFAULT_MESH.defaultAccessMode,
};

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** registry/path:tag or @digest, as a container runtime accepts it (no spaces, no upper-case repository). */
const IMAGE = /^[a-z0-9]([-a-z0-9._/:]*[a-z0-9])?(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export interface InstallFlags {
  namespace?: string | undefined;
  image?: string | undefined;
  replicas?: string | undefined;
  'trust-domain'?: string | undefined;
  'cluster-domain'?: string | undefined;
  'default-access'?: string | undefined;
}

/** Install options from command-line flags over the defaults; each bad flag is an issue and keeps nothing half-set. */
export function readInstallFlags(flags: InstallFlags): { options: InstallOptions; issues: Issue[] } {
  const options: InstallOptions = { ...DEFAULT_INSTALL };
  const issues: Issue[] = [];
  const bad = (flag: string, message: string) => issues.push(issue('SKIFF_E_INSTALL_OPTION', `--${flag}`, message));
  if (flags.namespace !== undefined) {
    if (NAMESPACE.test(flags.namespace)) options.namespace = flags.namespace;
    else bad('namespace', `${JSON.stringify(flags.namespace)} is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  }
  if (flags.image !== undefined) {
    if (flags.image.length <= 512 && IMAGE.test(flags.image)) options.image = flags.image;
    else bad('image', `${JSON.stringify(flags.image)} is not an image reference (registry/name:tag or @sha256:digest)`);
  }
  if (flags.replicas !== undefined) {
    const n = Number(flags.replicas);
    if (/^\d+$/.test(flags.replicas) && n >= 1 && n <= 10) options.replicas = n;
    else bad('replicas', `${JSON.stringify(flags.replicas)} is not a whole number from 1 to 10 (one leader writes; the others serve proxies and webhooks)`);
  }
  if (flags['trust-domain'] !== undefined) {
    if (isTrustDomain(flags['trust-domain'])) options.trustDomain = flags['trust-domain'];
    else bad('trust-domain', `${JSON.stringify(flags['trust-domain'])} is not a SPIFFE trust domain (lower-case letters, digits, ".", "-", "_")`);
  }
  if (flags['cluster-domain'] !== undefined) {
    if (flags['cluster-domain'].length <= 253 && DNS_NAME.test(flags['cluster-domain'])) options.clusterDomain = flags['cluster-domain'];
    else bad('cluster-domain', `${JSON.stringify(flags['cluster-domain'])} is not a DNS name`);
  }
  if (flags['default-access'] !== undefined) {
    if (flags['default-access'] === 'strict' || flags['default-access'] === 'permissive') options.defaultAccessMode = flags['default-access'];
    else bad('default-access', `${JSON.stringify(flags['default-access'])} is not strict or permissive`);
  }
  return { options, issues };
}
