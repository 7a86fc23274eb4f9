/**
 * webhooks: what the API server asks Skiff, answered purely.
 * - ConversionReview (apiextensions.k8s.io/v1): convert SMI objects between served versions
 *   with the API layer's lossless conversion.
 * - AdmissionReview (admission.k8s.io/v1): refuse SMI objects with errors, with the same
 *   messages and codes as `skiff validate`; warnings go back as admission warnings.
 */
import { convert, convertChecked, isSmiDocument, parseSmiObject, splitApiVersion, type VersionedObject } from '../../api/index.ts';
import { formatIssue } from '../../errors/issue.ts';

export interface ConversionReview {
  apiVersion: string;
  kind: 'ConversionReview';
  request?: { uid: string; desiredAPIVersion: string; objects: unknown[] };
  response?: { uid: string; result: { status: 'Success' | 'Failure'; message?: string }; convertedObjects?: unknown[] };
}

export function reviewConversion(review: ConversionReview): ConversionReview {
  const request = review.request;
  if (!request) return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response: { uid: '', result: { status: 'Failure', message: 'no request' } } };
  const { version } = splitApiVersion(request.desiredAPIVersion);
  const converted: unknown[] = [];
  for (const object of request.objects) {
    // Objects already stored are converted even when they break a semantic rule (they may
    // predate the validating webhook); only objects that cannot be read at all fail.
    try {
      converted.push(convert(object as VersionedObject, version));
    } catch (err) {
      const checked = convertChecked(object, version);
      const message = checked.issues.filter((i) => i.severity === 'error').map(formatIssue).join('; ') || (err as Error).message;
      return { apiVersion: review.apiVersion, kind: 'ConversionReview', response: { uid: request.uid, result: { status: 'Failure', message } } };
    }
  }
  return { apiVersion: review.apiVersion, kind: 'ConversionReview', response: { uid: request.uid, result: { status: 'Success' }, convertedObjects: converted } };
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: { uid: string; operation?: string; object?: unknown; namespace?: string };
  response?: { uid: string; allowed: boolean; status?: { code: number; reason?: string; message: string }; warnings?: string[]; patchType?: 'JSONPatch'; patch?: string };
}

export function reviewAdmission(review: AdmissionReview): AdmissionReview {
  const request = review.request;
  const uid = request?.uid ?? '';
  const object = request?.object as { metadata?: { namespace?: string } } | undefined;
  if (!request || request.operation === 'DELETE' || !object || !isSmiDocument(object)) {
    return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true } };
  }
  // Objects are namespaced; checks such as the TrafficTarget destination namespace need it.
  const withNamespace = object.metadata?.namespace || !request.namespace ? object : { ...object, metadata: { ...object.metadata, namespace: request.namespace } };
  const parsed = parseSmiObject(withNamespace);
  const errors = parsed.issues.filter((i) => i.severity === 'error');
  const warnings = parsed.issues.filter((i) => i.severity === 'warning').map(formatIssue);
  if (errors.length === 0) return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true, ...(warnings.length ? { warnings } : {}) } };
  return {
    apiVersion: review.apiVersion, kind: 'AdmissionReview',
    response: { uid, allowed: false, status: { code: 422, reason: 'Invalid', message: errors.map(formatIssue).join('; ') }, ...(warnings.length ? { warnings } : {}) },
  };
}
