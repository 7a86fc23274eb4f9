/** The webhook's answer for an injected pod: a JSON patch (RFC 6902) from the pod as sent to the injected pod. */
import type { PodTemplate } from './pod.ts';

export interface PatchOperation {
  op: 'add';
  path: string;
  value: unknown;
}

/**
 * `add` on a member that exists replaces it, so three operations cover every pod: the
 * annotations, the init containers and the volumes; a fourth, the containers, when injection
 * rewrote an application probe (inject/probes.ts: it then hands over a new containers array).
 */
export function injectionPatch(injected: PodTemplate, original: PodTemplate): PatchOperation[] {
  const meta = injected.metadata ?? {};
  const spec = injected.spec ?? {};
  return [
    { op: 'add', path: '/metadata/annotations', value: meta.annotations ?? {} },
    { op: 'add', path: '/spec/initContainers', value: spec.initContainers ?? [] },
    { op: 'add', path: '/spec/volumes', value: spec.volumes ?? [] },
    ...(spec.containers !== original.spec?.containers ? [{ op: 'add' as const, path: '/spec/containers', value: spec.containers ?? [] }] : []),
  ];
}
