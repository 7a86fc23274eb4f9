/**
 * The choices `skiff install` offers and their defaults (the defaults are what deploy/ holds).
 * Bad values are reported as issues naming the flag, never silently replaced.
 */
import { issue, type Issue } from '../errors/issue.ts';
import { CONTROL_NAMESPACE } from '../inject/defaults.ts';
import { DEFAULT_IMAGE } from '../lib/version.ts';
import { DEFAULT_MESH } from '../model/index.ts';
import { readMeshConfig } from '../sources/mesh-config.ts';

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
  // The mesh settings are judged by the MeshConfig reader the controller uses (one set of rules).
  const flagOf = { trustDomain: 'trust-domain', clusterDomain: 'cluster-domain', defaultAccessMode: 'default-access' } as const;
  const spec = Object.fromEntries(Object.entries(flagOf).filter(([, flag]) => flags[flag] !== undefined).map(([field, flag]) => [field, flags[flag]]));
  const mesh = readMeshConfig({ spec });
  for (const i of mesh.issues) bad(flagOf[i.path.replace('spec.', '') as keyof typeof flagOf], i.message.split(';')[0] ?? i.message);
  options.trustDomain = mesh.mesh.trustDomain;
  options.clusterDomain = mesh.mesh.clusterDomain;
  options.defaultAccessMode = mesh.mesh.defaultAccessMode;
  return { options, issues };
}
