/**
 * `skiff inject` on YAML: every pod template in a stream of documents (Pods, Deployments,
 * StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, and Lists of them) is injected as
 * the webhook would inject it; everything else passes through unchanged, in order. Pure:
 * text in, text and a per-object report out.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { formatIssue, type Issue } from '../errors/issue.ts';
import { INJECT_ANNOTATION } from './annotations.ts';
import { injectPod, type PodTemplate } from './pod.ts';
import { obj, type Json } from './json.ts';
import type { InjectSettings } from './settings.ts';

/** Offline there is no namespace to read: injecting a file means "enabled" unless a pod opts out. */
const ENABLED = { [INJECT_ANNOTATION]: 'enabled' };

export interface InjectReport {
  object: string;
  injected: boolean;
  reason?: string;
  issues: Issue[];
}

/** Where a kind keeps its pod template: the object itself for a Pod. */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

function withTemplate(o: Json, path: string[], template: PodTemplate): Json {
  if (path.length === 0) return { ...o, ...template };
  const [head, ...rest] = path as [string, ...string[]];
  return { ...o, [head]: withTemplate(obj(o[head]), rest, template) };
}

function templateAt(o: Json, path: string[]): PodTemplate {
  return path.reduce<Json>((at, key) => obj(at[key]), o) as PodTemplate;
}

function injectObject(o: Json, settings: InjectSettings, reports: InjectReport[]): Json {
  const kind = typeof o.kind === 'string' ? o.kind : '';
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(o.items))) {
    return { ...o, items: (o.items as unknown[]).map((item) => injectObject(obj(item), settings, reports)) };
  }
  const path = TEMPLATE_PATHS[kind];
  if (!path) return o;
  const meta = obj(o.metadata);
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  const name = `${kind}/${namespace}/${typeof meta.name === 'string' ? meta.name : '(unnamed)'}`;
  const result = injectPod(templateAt(o, path), namespace, ENABLED, settings);
  reports.push({ object: name, injected: result.injected, ...(result.injected ? {} : { reason: result.reason }), issues: result.issues });
  return result.injected ? withTemplate(o, path, result.template) : o;
}

/** Injects every pod template in `text` (multi-document YAML); documents that are not workloads are kept as they are. */
export function injectManifests(text: string, settings: InjectSettings): { text: string; reports: InjectReport[]; errors: string[] } {
  const reports: InjectReport[] = [];
  const errors: string[] = [];
  const out: string[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: false })) {
    if (doc.errors.length > 0) {
      errors.push(...doc.errors.map((e) => e.message));
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const injected = injectObject(obj(value), settings, reports);
    out.push(injected === value ? String(doc).replace(/^---\n/, '') : stringify(injected, { lineWidth: 0 }));
  }
  for (const r of reports) errors.push(...r.issues.filter((i) => i.severity === 'error').map((i) => `${r.object}: ${formatIssue(i)}`));
  return { text: out.map((d) => (d.endsWith('\n') ? d : `${d}\n`)).join('---\n'), reports, errors };
}
