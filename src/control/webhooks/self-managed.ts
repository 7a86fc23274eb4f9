/**
 * Webhook TLS without cert-manager: every controller replica issues its own serving
 * certificate for the webhook Service from the mesh CA (the same root in every replica, so
 * one caBundle fits all), renews it at half its lifetime and swaps it into the running server
 * (serving-certificate.ts).
 * The leader writes that caBundle into Skiff's mutating and validating webhook configurations,
 * the SMI CRDs' conversion settings and the TrafficMetrics APIService, and puts it back whenever someone changes it.
 * With `--webhook-cert` (cert-manager's Secret) none of this runs: cainjector owns caBundle.
 */
import { AdmissionregistrationV1Api, ApiextensionsV1Api, ApiregistrationV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { createCsr, generateKeyPair, privateKeyPem } from '../../lib/csr.ts';
import type { CertificateAuthority } from '../ca/authority.ts';
import { INJECTOR_WEBHOOK, METRICS_API_SERVICE, VALIDATION_WEBHOOK } from '../../install/manifests.ts';
import { SERVING_TTL_MS, type ServingCertificate } from '../serving-certificate.ts';

/** A serving certificate for `service.namespace.svc` (and its longer names), signed by the mesh CA. */
export function issueServingCertificate(ca: CertificateAuthority, namespace: string, service: string, ttlMs = SERVING_TTL_MS, extra: { dnsNames?: string[]; ipAddresses?: string[] } = {}): ServingCertificate {
  const keys = generateKeyPair();
  const identity = ca.spiffeId(namespace, service);
  const dnsNames = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, ...(extra.dnsNames ?? [])];
  const issued = ca.issue(createCsr(keys, identity), identity, ttlMs, { dnsNames, ...(extra.ipAddresses ? { ipAddresses: extra.ipAddresses } : {}) });
  return { certPem: issued.certificatePem, keyPem: privateKeyPem(keys.privateKey), notAfter: issued.notAfter };
}

type JsonPatch = { op: 'replace' | 'add'; path: string; value: string }[];

/** Writes `caBundle` (base64 PEM) wherever Skiff's webhooks are configured; returns what it changed. */
export async function reconcileCaBundles(kc: KubeConfig, caBundlePem: string, crdNames: readonly string[]): Promise<string[]> {
  const bundle = Buffer.from(caBundlePem).toString('base64');
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const changed: string[] = [];
  const patchFor = (webhooks: { clientConfig?: { caBundle?: string } }[] | undefined): JsonPatch =>
    (webhooks ?? []).flatMap((w, i) => (w.clientConfig?.caBundle === bundle ? [] : [{ op: 'add' as const, path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle }]));
  const notFound = (err: unknown) => (err as { code?: number }).code === 404;
  const webhookConfigurations = [
    { kind: 'MutatingWebhookConfiguration', name: INJECTOR_WEBHOOK, read: () => admission.readMutatingWebhookConfiguration({ name: INJECTOR_WEBHOOK }), patch: (body: JsonPatch) => admission.patchMutatingWebhookConfiguration({ name: INJECTOR_WEBHOOK, body }, jsonPatch) },
    { kind: 'ValidatingWebhookConfiguration', name: VALIDATION_WEBHOOK, read: () => admission.readValidatingWebhookConfiguration({ name: VALIDATION_WEBHOOK }), patch: (body: JsonPatch) => admission.patchValidatingWebhookConfiguration({ name: VALIDATION_WEBHOOK, body }, jsonPatch) },
  ];
  for (const c of webhookConfigurations) {
    try {
      const patch = patchFor((await c.read()).webhooks);
      if (patch.length === 0) continue;
      await c.patch(patch);
      changed.push(`${c.kind}/${c.name}`);
    } catch (err) {
      if (!notFound(err)) throw err;
    }
  }
  for (const name of crdNames) {
    try {
      const crd = await extensions.readCustomResourceDefinition({ name });
      const webhook = crd.spec.conversion?.webhook;
      if (crd.spec.conversion?.strategy !== 'Webhook' || !webhook?.clientConfig || webhook.clientConfig.caBundle === bundle) continue;
      await extensions.patchCustomResourceDefinition({ name, body: [{ op: 'add', path: '/spec/conversion/webhook/clientConfig/caBundle', value: bundle }] }, jsonPatch);
      changed.push(`CustomResourceDefinition/${name}`);
    } catch (err) {
      if (!notFound(err)) throw err;
    }
  }
  try {
    const registration = kc.makeApiClient(ApiregistrationV1Api);
    const api = await registration.readAPIService({ name: METRICS_API_SERVICE });
    if (api.spec?.service && api.spec.caBundle !== bundle) {
      await registration.patchAPIService({ name: METRICS_API_SERVICE, body: [{ op: 'add', path: '/spec/caBundle', value: bundle }] }, jsonPatch);
      changed.push(`APIService/${METRICS_API_SERVICE}`);
    }
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  return changed;
}
