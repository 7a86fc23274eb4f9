/**
 * Mesh-wide settings, from one kind of document wherever Skiff runs: a `MeshConfig`
 * (`skiff.dev/v1alpha1`) in the local folder, or the same document in the ConfigMap the
 * controller reads at start (`skiff-system/skiff-mesh`, key `mesh.yaml`). It reaches the CA
 * (the trust domain of the certificates it issues), the model (identities, DNS names, the
 * default access mode) and through the configs every sidecar (which checks peers' trust domain).
 *
 *   apiVersion: skiff.dev/v1alpha1
 *   kind: MeshConfig
 *   spec: {trustDomain: example.org, clusterDomain: cluster.local, defaultAccessMode: strict}
 */
import { issue, type Issue } from '../errors/issue.ts';
import { isTrustDomain } from '../lib/spiffe.ts';
import { DEFAULT_MESH, type MeshSettings } from '../model/index.ts';
import { obj, str } from './objects.ts';

export const MESH_CONFIG_KIND = 'MeshConfig';
export const MESH_CONFIG_API_VERSION = 'skiff.dev/v1alpha1';
export const MESH_CONFIG_MAP = { name: 'skiff-mesh', key: 'mesh.yaml' } as const;

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const FIELDS = new Set(['trustDomain', 'clusterDomain', 'defaultAccessMode']);

/** The settings a MeshConfig document sets over the defaults; each bad field keeps its default and is reported. */
export function readMeshConfig(doc: unknown, base: MeshSettings = DEFAULT_MESH): { mesh: MeshSettings; issues: Issue[] } {
  const ref = { kind: MESH_CONFIG_KIND, ...(str(obj(obj(doc).metadata).name) ? { name: str(obj(obj(doc).metadata).name) as string } : {}) };
  const spec = obj(obj(doc).spec);
  const mesh: MeshSettings = { ...base };
  const issues: Issue[] = [];
  const bad = (field: string, message: string) => issues.push(issue('SKIFF_E_MESH_CONFIG', `spec.${field}`, `${message}; ${JSON.stringify(base[field as keyof MeshSettings] ?? null)} stays in force`, ref));
  for (const key of Object.keys(spec)) if (!FIELDS.has(key)) bad(key, 'is not a MeshConfig field (trustDomain, clusterDomain, defaultAccessMode)');
  if (spec.trustDomain !== undefined) {
    const v = str(spec.trustDomain);
    if (v && isTrustDomain(v)) mesh.trustDomain = v;
    else bad('trustDomain', `${JSON.stringify(spec.trustDomain)} is not a SPIFFE trust domain (lower-case letters, digits, ".", "-", "_")`);
  }
  if (spec.clusterDomain !== undefined) {
    const v = str(spec.clusterDomain);
    if (v && v.length <= 253 && DNS_NAME.test(v)) mesh.clusterDomain = v;
    else bad('clusterDomain', `${JSON.stringify(spec.clusterDomain)} is not a DNS name`);
  }
  if (spec.defaultAccessMode !== undefined) {
    if (spec.defaultAccessMode === 'strict' || spec.defaultAccessMode === 'permissive') mesh.defaultAccessMode = spec.defaultAccessMode;
    else bad('defaultAccessMode', `${JSON.stringify(spec.defaultAccessMode)} is not strict or permissive`);
  }
  return { mesh, issues };
}

export function isMeshConfig(doc: unknown): boolean {
  return obj(doc).kind === MESH_CONFIG_KIND && obj(doc).apiVersion === MESH_CONFIG_API_VERSION;
}
