/**
 * Reads what each check needs from the cluster and hands it to evaluate.ts. Webhooks are
 * checked by what they do, through server-side dry runs the API server sends through them:
 * an old-version TrafficSplit (conversion), a broken one (validation), an opted-in pod (injection).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { CONVERTED_CRD_NAMES } from '../api/crds.ts';
import { ALL_KINDS, SMI_KINDS } from '../api/meta.ts';
import { abCanariesOverSmi, canaryView } from '../control/flagger.ts';
import { INJECT_ANNOTATION } from '../inject/annotations.ts';
import { CONTROLLER_SERVICE } from '../inject/defaults.ts';
import { PROXY_CONTAINER } from '../inject/pod.ts';
import { SYSTEM_NAMESPACES } from '../inject/settings.ts';
import { INJECTOR_WEBHOOK, installManifests, METRICS_API_SERVICE, VALIDATION_WEBHOOK } from '../install/manifests.ts';
import { DEFAULT_INSTALL } from '../install/options.ts';
import { PORTS } from '../lib/ports.ts';
import * as judge from './evaluate.ts';
import { kubeRequest, type KubeResponse } from './kube-request.ts';
import { getThroughPortForward } from './port-forward.ts';
import { fail, type CheckResult } from './result.ts';

export interface CheckOptions {
  kubeconfig: KubeConfig;
  /** The control plane's namespace. */
  namespace: string;
  /** Before installing: can Skiff be installed here? */
  pre: boolean;
}

type Json = Record<string, unknown>;
const items = (r: KubeResponse) => ((r.body as { items?: Json[] } | undefined)?.items ?? []);
const message = (r: KubeResponse) => (r.body as { message?: string } | undefined)?.message ?? `HTTP ${r.status}`;

/** Where each kind of the install is created (for the pre-install permission check). */
const RESOURCES: Record<string, { group: string; resource: string; namespaced: boolean }> = {
  CustomResourceDefinition: { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', namespaced: false },
  Namespace: { group: '', resource: 'namespaces', namespaced: false },
  ServiceAccount: { group: '', resource: 'serviceaccounts', namespaced: true },
  ConfigMap: { group: '', resource: 'configmaps', namespaced: true },
  Service: { group: '', resource: 'services', namespaced: true },
  Deployment: { group: 'apps', resource: 'deployments', namespaced: true },
  ClusterRole: { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespaced: false },
  Role: { group: 'rbac.authorization.k8s.io', resource: 'roles', namespaced: true },
  RoleBinding: { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespaced: true },
  ValidatingWebhookConfiguration: { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', namespaced: false },
  MutatingWebhookConfiguration: { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', namespaced: false },
};

interface Access { verb: string; group: string; resource: string; subresource?: string; namespace?: string }

async function denied(kc: KubeConfig, wanted: readonly Access[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of wanted) {
    const r = await kubeRequest(kc, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: a.verb, group: a.group, resource: a.resource, ...(a.subresource ? { subresource: a.subresource } : {}), ...(a.namespace ? { namespace: a.namespace } : {}) } },
    });
    if (!(r.body as { status?: { allowed?: boolean } }).status?.allowed) out.push(`${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`);
  }
  return out;
}

/** Runs the checks in order, reporting each as it completes; one that throws is a ✘ with the error. */
export async function runChecks(options: CheckOptions, report: (r: CheckResult) => void): Promise<CheckResult[]> {
  const { kubeconfig: kc, namespace: ns } = options;
  const results: CheckResult[] = [];
  const step = async (name: string, hint: string, run: () => Promise<CheckResult | CheckResult[]>) => {
    let out: CheckResult[];
    try {
      const r = await run();
      out = Array.isArray(r) ? r : [r];
    } catch (err) {
      out = [fail(name, (err as Error).message, hint)];
    }
    for (const r of out) {
      results.push(r);
      report(r);
    }
  };
  let reachable = false;
  await step('Kubernetes API reachable and new enough', 'check the kubeconfig (--kubeconfig, $KUBECONFIG) and that the API server is up', async () => {
    const version = await kubeRequest(kc, 'GET', '/version');
    if (version.status !== 200) throw new Error(`GET /version: ${message(version)}`);
    reachable = true;
    const date = version.headers.date;
    return [judge.kubernetesVersion(version.body as Json), judge.clockSkew(typeof date === 'string' ? date : undefined, Date.now())];
  });
  if (!reachable) return results;
  if (options.pre) {
    await preInstall(options, step);
    return results;
  }
  await postInstall(options, step, ns);
  return results;
}

type Step = (name: string, hint: string, run: () => Promise<CheckResult | CheckResult[]>) => Promise<void>;

async function preInstall({ kubeconfig: kc, namespace }: CheckOptions, step: Step): Promise<void> {
  await step('permissions to install', 'run with a cluster-admin kubeconfig', async () => {
    const kinds = [...new Set(installManifests({ ...DEFAULT_INSTALL, namespace }).map((m) => m.object.kind))];
    const wanted = kinds.map((kind) => RESOURCES[kind]).filter((r) => r !== undefined).map((r) => ({ verb: 'create', group: r.group, resource: r.resource, ...(r.namespaced ? { namespace } : {}) }));
    return judge.permissions(await denied(kc, wanted), 'install');
  });
  await step(`namespace ${namespace} free`, '', async () => {
    const r = await kubeRequest(kc, 'GET', `/api/v1/namespaces/${namespace}`);
    if (r.status === 404) return { name: `namespace ${namespace} free`, ok: true, detail: 'not there yet' };
    return fail(`namespace ${namespace} free`, r.status === 200 ? 'it exists already' : message(r), 'Skiff looks installed: run skiff check (without --pre), or choose another --namespace');
  });
}

async function postInstall({ kubeconfig: kc }: CheckOptions, step: Step, ns: string): Promise<void> {
  await step('permissions to check', 'run with a cluster-admin kubeconfig', async () => judge.permissions(await denied(kc, [
    { verb: 'get', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'list', group: '', resource: 'pods' }, { verb: 'list', group: '', resource: 'namespaces' },
    { verb: 'get', group: 'apps', resource: 'deployments', namespace: ns }, { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: ns },
    { verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace: ns },
    { verb: 'create', group: SMI_KINDS.TrafficSplit.group, resource: SMI_KINDS.TrafficSplit.plural, namespace: ns },
  ]), 'check'));
  await step('SMI CRDs installed, every version served', 'skiff install | kubectl apply -f -', async () => {
    const expected = ALL_KINDS.map((k) => SMI_KINDS[k]).map((i) => ({ name: `${i.plural}.${i.group}`, versions: i.versions.map((v) => ({ name: v, served: true, storage: v === i.storage })) }));
    const found = new Map<string, judge.CrdView>();
    for (const want of expected) {
      const r = await kubeRequest(kc, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${want.name}`);
      if (r.status === 200) found.set(want.name, { name: want.name, versions: ((r.body as { spec: { versions: judge.CrdView['versions'] } }).spec.versions) });
      else if (r.status !== 404) throw new Error(`GET CRD ${want.name}: ${message(r)}`);
    }
    return judge.crdsServed(expected, found);
  });
  const pods = items(await kubeRequest(kc, 'GET', '/api/v1/pods')).map(podView);
  const controllerPods = pods.filter((p) => p.namespace === ns && p.phase === 'Running' && p.labels['app.kubernetes.io/name'] === CONTROLLER_SERVICE).map((p) => p.name);
  await step('controller Ready', `kubectl -n ${ns} get pods`, async () => {
    const r = await kubeRequest(kc, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/${CONTROLLER_SERVICE}`);
    if (r.status === 404) return judge.controllerReady(undefined, ns);
    const d = r.body as { spec?: { replicas?: number }; status?: { availableReplicas?: number } };
    return judge.controllerReady({ desired: d.spec?.replicas ?? 1, available: d.status?.availableReplicas ?? 0 }, ns);
  });
  await step('a controller leader elected', `kubectl -n ${ns} get lease ${CONTROLLER_SERVICE}`, async () => {
    const r = await kubeRequest(kc, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${CONTROLLER_SERVICE}`);
    const spec = r.status === 200 ? (r.body as { spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } }).spec : undefined;
    const result = judge.leaderElected(spec ? { ...(spec.holderIdentity ? { holder: spec.holderIdentity } : {}), ...(spec.renewTime ? { renewTime: spec.renewTime } : {}), ...(spec.leaseDurationSeconds ? { durationSeconds: spec.leaseDurationSeconds } : {}) } : undefined, controllerPods, Date.now());
    return result;
  });
  await step('webhook caBundle set and valid everywhere', 'the controller leader writes caBundle', async () => {
    const bundles = new Map<string, string | undefined>();
    for (const [kind, name] of [['mutatingwebhookconfigurations', INJECTOR_WEBHOOK], ['validatingwebhookconfigurations', VALIDATION_WEBHOOK]] as const) {
      const r = await kubeRequest(kc, 'GET', `/apis/admissionregistration.k8s.io/v1/${kind}/${name}`);
      const hooks = r.status === 200 ? (r.body as { webhooks?: { name: string; clientConfig?: { caBundle?: string } }[] }).webhooks ?? [] : [];
      if (hooks.length === 0) bundles.set(`${name} (missing)`, undefined);
      for (const h of hooks) bundles.set(`${name}/${h.name}`, h.clientConfig?.caBundle);
    }
    for (const crd of CONVERTED_CRD_NAMES) {
      const r = await kubeRequest(kc, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`);
      bundles.set(crd, r.status === 200 ? (r.body as { spec?: { conversion?: { webhook?: { clientConfig?: { caBundle?: string } } } } }).spec?.conversion?.webhook?.clientConfig?.caBundle : undefined);
    }
    const api = await kubeRequest(kc, 'GET', `/apis/apiregistration.k8s.io/v1/apiservices/${METRICS_API_SERVICE}`);
    bundles.set(`APIService/${METRICS_API_SERVICE}`, api.status === 200 ? (api.body as { spec?: { caBundle?: string } }).spec?.caBundle : undefined);
    const { result, certificate } = judge.caBundles(bundles, Date.now());
    return [result, judge.caValidity(certificate, Date.now())];
  });
  await step('TrafficMetrics API available', '', async () => {
    const r = await kubeRequest(kc, 'GET', `/apis/apiregistration.k8s.io/v1/apiservices/${METRICS_API_SERVICE}`);
    return judge.trafficMetricsAvailable(r.status === 200 ? (r.body as { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }).status ?? {} : undefined);
  });
  await webhookChecks(kc, ns, pods, step);
  await step('injected proxies connected and on the current config', '', async () => {
    // Each replica knows the proxies streaming from it: ask them all. A config being pushed
    // right now is not a fault: up to 5 looks, a second apart, before a ✘.
    let result = judge.proxiesConnected(pods, 'no controller pod running');
    for (let attempt = 0; attempt < 5 && controllerPods.length; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 1000));
      const replicas: judge.ProxyView[][] = [];
      for (const pod of controllerPods) {
        const r = await getThroughPortForward(kc, ns, pod, PORTS.debug, '/debug/proxies');
        if (r.status !== 200) return judge.proxiesConnected(pods, `${pod}: HTTP ${r.status}`);
        replicas.push(JSON.parse(r.body) as judge.ProxyView[]);
      }
      result = judge.proxiesConnected(pods, replicas);
      if (result.ok) break;
    }
    return result;
  });
  await step('every pod that asked for a sidecar has one', '', async () => {
    const namespaces = new Map(items(await kubeRequest(kc, 'GET', '/api/v1/namespaces')).map((n) => {
      const meta = n.metadata as { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
      return [meta.name, meta] as const;
    }));
    return judge.injectionMissed(pods.filter((p) => !SYSTEM_NAMESPACES.includes(p.namespace)), namespaces, ns);
  });
  await step('Flagger canaries usable over SMI', '', async () => {
    const canaries = await kubeRequest(kc, 'GET', '/apis/flagger.app/v1beta1/canaries');
    if (canaries.status === 404) return judge.flaggerCanaries(undefined, []);
    if (canaries.status !== 200) throw new Error(`listing Canaries: ${message(canaries)}`);
    const split = SMI_KINDS.TrafficSplit;
    const splits = items(await kubeRequest(kc, 'GET', `/apis/${split.group}/${split.storage}/${split.plural}`)).map((o) => o.metadata as { namespace: string; name: string });
    return judge.flaggerCanaries(items(canaries).length, abCanariesOverSmi(items(canaries).map(canaryView), splits));
  });
}

async function webhookChecks(kc: KubeConfig, ns: string, pods: readonly (judge.PodView & { labels: Record<string, string> })[], step: Step): Promise<void> {
  const split = SMI_KINDS.TrafficSplit;
  const old = split.versions.find((v) => v !== split.storage && v !== 'v1alpha1') ?? split.versions[0];
  const dryRunSplit = (backends: { service: string; weight: number }[]) => kubeRequest(kc, 'POST', `/apis/${split.group}/${old}/namespaces/${ns}/${split.plural}?dryRun=All`, {
    apiVersion: `${split.group}/${old}`, kind: split.kind, metadata: { name: 'skiff-check' }, spec: { service: 'skiff-check', backends },
  });
  await step('conversion webhook answering', '', async () => {
    const r = await dryRunSplit([{ service: 'skiff-check-v1', weight: 1 }]);
    return judge.webhookAnswer('conversion webhook answering', r.status === 201 || r.status === 200 ? { ok: true, detail: `a ${old} TrafficSplit converts to ${split.storage} and back` } : { ok: false, detail: message(r) },
      `the API server cannot reach the controller's /convert: kubectl -n ${ns} get endpoints ${CONTROLLER_SERVICE}`);
  });
  await step('validating webhook answering', '', async () => {
    const r = await dryRunSplit([{ service: 'skiff-check-v1', weight: 1 }, { service: 'skiff-check-v1', weight: 2 }]);
    const text = message(r);
    return judge.webhookAnswer('validating webhook answering', r.status >= 400 && r.status < 500 && text.includes('SKIFF_E_') ? { ok: true, detail: 'a broken TrafficSplit is refused with its SKIFF_E_ code' } : { ok: false, detail: r.status < 300 ? 'a broken TrafficSplit was accepted' : text },
      `kubectl get validatingwebhookconfiguration ${VALIDATION_WEBHOOK}; the controller serves /validate`);
  });
  await step('injection webhook answering', '', async () => {
    // A namespace that opted in by label if there is one (the fail-closed entry), else default.
    const labelled = items(await kubeRequest(kc, 'GET', `/api/v1/namespaces?labelSelector=${encodeURIComponent(`${INJECT_ANNOTATION}=enabled`)}`)).map((n) => (n.metadata as { name: string }).name).find((n) => n !== ns);
    const target = labelled ?? 'default';
    const r = await kubeRequest(kc, 'POST', `/api/v1/namespaces/${target}/pods?dryRun=All`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'skiff-check', annotations: { [INJECT_ANNOTATION]: 'enabled' } },
      spec: { containers: [{ name: 'app', image: 'skiff-check.invalid/none' }] },
    });
    const injected = r.status === 201 && ((r.body as { spec?: { initContainers?: { name: string }[] } }).spec?.initContainers ?? []).some((c) => c.name === PROXY_CONTAINER);
    return judge.webhookAnswer('injection webhook answering', injected ? { ok: true, detail: `a pod in ${target} gets the sidecar` } : { ok: false, detail: r.status === 201 ? `a pod in ${target} that asked for a sidecar was created without one` : message(r) },
      `kubectl get mutatingwebhookconfiguration ${INJECTOR_WEBHOOK}; the controller serves /inject (pods: ${pods.filter((p) => p.namespace === ns).length} in ${ns})`);
  });
}

function podView(p: Json): judge.PodView & { labels: Record<string, string> } {
  const meta = p.metadata as { namespace: string; name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  const spec = p.spec as { containers?: { name: string }[]; initContainers?: { name: string }[] };
  const status = p.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  return {
    namespace: meta.namespace, name: meta.name, labels: meta.labels ?? {}, annotations: meta.annotations ?? {},
    containers: [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => c.name),
    ...(status?.phase ? { phase: status.phase } : {}), ready: status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  };
}
