/**
 * The mutating webhook's answer for a Pod: an AdmissionReview whose response carries the
 * injection JSON patch, or no patch and the reason as a warning. Never refuses a pod: a pod
 * the injector cannot inject is admitted unchanged (and `skiff check` lists it).
 */
import { formatIssue } from '../../errors/issue.ts';
import { injectionPatch } from '../../inject/patch.ts';
import { injectPod, type PodTemplate } from '../../inject/pod.ts';
import type { InjectSettings } from '../../inject/settings.ts';
import type { AdmissionReview } from './reviews.ts';

export type NamespaceAnnotations = (namespace: string) => Promise<Record<string, string>>;

export async function reviewInjection(review: AdmissionReview, settings: InjectSettings, namespaceAnnotations: NamespaceAnnotations): Promise<AdmissionReview> {
  const request = review.request;
  const uid = request?.uid ?? '';
  const allow = (extra: Record<string, unknown> = {}): AdmissionReview => ({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true, ...extra } });
  const pod = request?.object as (PodTemplate & { kind?: string; metadata?: { namespace?: string } }) | undefined;
  if (!request || request.operation !== 'CREATE' || !pod || pod.kind !== 'Pod') return allow();
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  const result = injectPod(pod, namespace, await namespaceAnnotations(namespace), settings);
  const warnings = result.issues.map(formatIssue);
  if (!result.injected) return allow(warnings.length ? { warnings } : {});
  const patch = Buffer.from(JSON.stringify(injectionPatch(result.template, pod))).toString('base64');
  return allow({ patchType: 'JSONPatch', patch, ...(warnings.length ? { warnings } : {}) });
}
