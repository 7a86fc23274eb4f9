/**
 * The controller's mesh-wide settings: the MeshConfig document in the ConfigMap
 * `skiff-mesh` (key `mesh.yaml`) of the controller's namespace, read once at start (a new
 * trust domain means new certificates for every workload: change it with a restart, and
 * carry the old root in the trust bundle while pods rotate). No ConfigMap: the defaults.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { Issue } from '../errors/issue.ts';
import { DEFAULT_MESH, type MeshSettings } from '../model/index.ts';
import { MESH_CONFIG_MAP, readMeshConfig } from '../sources/mesh-config.ts';

const MAX_BYTES = 64 * 1024;

export async function loadMeshConfig(kc: KubeConfig, namespace: string, name: string = MESH_CONFIG_MAP.name): Promise<{ mesh: MeshSettings; issues: Issue[]; found: boolean }> {
  let text: string | undefined;
  try {
    text = (await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name, namespace })).data?.[MESH_CONFIG_MAP.key];
  } catch (err) {
    if ((err as { code?: number }).code === 404) return { mesh: { ...DEFAULT_MESH }, issues: [], found: false };
    throw err;
  }
  if (text === undefined) return { mesh: { ...DEFAULT_MESH }, issues: [], found: false };
  if (text.length > MAX_BYTES) throw new Error(`ConfigMap ${namespace}/${name} key ${MESH_CONFIG_MAP.key} is over ${MAX_BYTES} bytes`);
  const read = readMeshConfig(parse(text, { maxAliasCount: 10 }));
  return { ...read, found: true };
}
