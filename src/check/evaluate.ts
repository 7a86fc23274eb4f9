/** Pure judgements over what `skiff check` read from the cluster (see result.ts). */
import { X509Certificate } from 'node:crypto';
import { INJECTED_ANNOTATION, namespaceInjectionView, wantsInjection } from '../inject/annotations.ts';
import { PROXY_CONTAINER } from '../inject/pod.ts';
import type { AbOverSmi } from '../control/flagger.ts';
import { fail, pass, warn, type CheckResult } from './result.ts';

/** Native sidecars (restartPolicy: Always init containers) are on by default from 1.29. */
export const MIN_KUBERNETES = { major: 1, minor: 29 };
export const MAX_CLOCK_SKEW_MS = 30_000;
/** A CA or webhook certificate closer than this to expiry fails the check. */
export const EXPIRY_WARNING_DAYS = 30;

export function kubernetesVersion(version: { major?: string; minor?: string; gitVersion?: string }): CheckResult {
  const name = 'Kubernetes API reachable and new enough';
  const major = Number.parseInt(version.major ?? '', 10);
  const minor = Number.parseInt(version.minor ?? '', 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return fail(name, `unreadable version ${JSON.stringify(version)}`, 'is the kubeconfig pointing at a Kubernetes API server?');
  const ok = major > MIN_KUBERNETES.major || (major === MIN_KUBERNETES.major && minor >= MIN_KUBERNETES.minor);
  return ok ? pass(name, version.gitVersion ?? `${major}.${minor}`) : fail(name, `${version.gitVersion ?? `${major}.${minor}`} is older than ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}`, 'Skiff injects its proxy as a native sidecar, which needs Kubernetes 1.29 or newer');
}

export function clockSkew(serverDate: string | undefined, now: number): CheckResult {
  const name = 'clock in step with the API server';
  const server = serverDate ? Date.parse(serverDate) : Number.NaN;
  if (!Number.isFinite(server)) return fail(name, 'the API server sent no Date header', 'check for a proxy between you and the API server');
  // The Date header has whole seconds: up to 1 s of the difference is rounding.
  const skew = Math.abs(now - server) - 1000;
  return skew <= MAX_CLOCK_SKEW_MS ? pass(name, `within ${Math.max(0, Math.ceil(skew / 1000))} s`) : fail(name, `this machine is ${Math.round(skew / 1000)} s off`, 'certificates are short-lived: synchronise clocks (NTP) or certificates will look expired or not yet valid');
}

export function permissions(denied: readonly string[], what: string): CheckResult {
  const name = `permissions to ${what}`;
  return denied.length === 0 ? pass(name, 'all granted') : fail(name, `denied: ${denied.join(', ')}`, 'run with a cluster-admin kubeconfig, or ask for these verbs');
}

export interface CrdView { name: string; versions: { name: string; served: boolean; storage: boolean }[] }

export function crdsServed(expected: readonly CrdView[], found: ReadonlyMap<string, CrdView>): CheckResult {
  const name = 'SMI CRDs installed, every version served';
  const problems: string[] = [];
  for (const want of expected) {
    const got = found.get(want.name);
    if (!got) {
      problems.push(`${want.name} missing`);
      continue;
    }
    for (const v of want.versions) {
      const g = got.versions.find((x) => x.name === v.name);
      if (!g) problems.push(`${want.name} has no version ${v.name}`);
      else if (!g.served) problems.push(`${want.name} does not serve ${v.name}`);
      else if (v.storage && !g.storage) problems.push(`${want.name} stores another version than ${v.name}`);
    }
  }
  const versions = expected.reduce((n, c) => n + c.versions.length, 0);
  return problems.length === 0 ? pass(name, `${expected.length} CRDs, ${versions} versions`) : fail(name, problems.join('; '), 'apply the CRDs again: skiff install | kubectl apply -f - (or kubectl apply -k smi-crds/)');
}

/** caBundle from each webhook configuration and converted CRD: present, one and the same, a valid certificate. */
export function caBundles(bundles: ReadonlyMap<string, string | undefined>, now: number): { result: CheckResult; certificate?: X509Certificate } {
  const name = 'webhook caBundle set and valid everywhere';
  const hint = 'the controller leader writes caBundle every 30 s: check its logs (kubectl -n skiff-system logs deploy/skiff-controller)';
  const missing = [...bundles].filter(([, b]) => !b).map(([where]) => where);
  if (missing.length) return { result: fail(name, `no caBundle in ${missing.join(', ')}`, hint) };
  const distinct = new Set(bundles.values());
  if (distinct.size > 1) return { result: fail(name, `${distinct.size} different caBundles`, hint) };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(Buffer.from([...distinct][0] ?? '', 'base64'));
  } catch {
    return { result: fail(name, 'caBundle is not a PEM certificate', hint) };
  }
  if (Date.parse(certificate.validTo) <= now) return { result: fail(name, `caBundle expired ${certificate.validTo}`, hint), certificate };
  return { result: pass(name, `${bundles.size} places, one CA`), certificate };
}

export function caValidity(certificate: X509Certificate | undefined, now: number): CheckResult {
  const name = 'mesh CA valid';
  if (!certificate) return fail(name, 'no CA certificate found', 'the controller creates its CA in the Secret skiff-ca at first start: is it running?');
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  const days = Math.floor((to - now) / 86_400_000);
  if (from > now) return fail(name, `not valid before ${certificate.validFrom}`, 'a clock is wrong: the CA was made on a machine ahead of this one');
  if (to <= now) return fail(name, `expired ${certificate.validTo}`, 'rotate the mesh CA (docs/install.md)');
  const detail = `${certificate.subject.replaceAll('\n', ', ')}, expires in ${days} days`;
  return days < EXPIRY_WARNING_DAYS ? fail(name, detail, 'rotate the mesh CA before it expires (docs/install.md)') : pass(name, detail);
}

export function controllerReady(deployment: { desired: number; available: number } | undefined, namespace: string): CheckResult {
  const name = 'controller Ready';
  if (!deployment) return fail(name, `no Deployment skiff-controller in ${namespace}`, 'install Skiff: skiff install | kubectl apply -f -');
  const detail = `${deployment.available} of ${deployment.desired} replicas available`;
  return deployment.available >= 1 ? pass(name, detail) : fail(name, detail, `kubectl -n ${namespace} describe deploy/skiff-controller; webhooks and new certificates wait for it`);
}

export interface LeaseView { holder?: string; renewTime?: string; durationSeconds?: number }

export function leaderElected(lease: LeaseView | undefined, runningPods: readonly string[], now: number): CheckResult {
  const name = 'a controller leader elected';
  const hint = 'the leader writes status and caBundle: check the controller pods\' logs';
  if (!lease?.holder) return fail(name, 'no leader lease held', hint);
  const age = now - Date.parse(lease.renewTime ?? '');
  const limit = (lease.durationSeconds ?? 15) * 1000 + MAX_CLOCK_SKEW_MS;
  if (!(age <= limit)) return fail(name, `${lease.holder} last renewed ${Number.isFinite(age) ? `${Math.round(age / 1000)} s ago` : 'never'}`, hint);
  const pod = runningPods.find((p) => lease.holder?.startsWith(`${p}-`));
  return pod ? pass(name, pod) : fail(name, `the lease holder ${lease.holder} is not a running controller pod`, hint);
}

export function webhookAnswer(name: string, outcome: { ok: true; detail: string } | { ok: false; detail: string }, hint: string): CheckResult {
  return outcome.ok ? pass(name, outcome.detail) : fail(name, outcome.detail, hint);
}

/** The TrafficMetrics APIService: present and Available (the API server reaches the controller through it). */
export function trafficMetricsAvailable(apiService: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined): CheckResult {
  const name = 'TrafficMetrics API available';
  if (!apiService) return fail(name, 'APIService v1alpha1.metrics.smi-spec.io missing', 'skiff install | kubectl apply -f -');
  const available = apiService.conditions?.find((c) => c.type === 'Available');
  if (available?.status === 'True') return pass(name, 'metrics.smi-spec.io/v1alpha1 served through the API server');
  return fail(name, `${available?.reason ?? 'no Available condition'}${available?.message ? `: ${available.message}` : ''}`, 'the controller serves it on port 8444: are its pods Ready and its Service\'s metrics-api port reachable from the API server?');
}

export interface PodView { namespace: string; name: string; annotations: Record<string, string>; containers: string[]; phase?: string; ready: boolean }
export interface ProxyView { proxy: string; connected: boolean; upToDate: boolean; lastError: string | null; desired?: string; applied?: string | null }

/**
 * Every Ready injected pod's proxy is connected to the control plane and has applied its
 * current config. `proxies` is what each controller replica reports (a proxy streams from one
 * replica, picked by the Service); pods not Ready (starting, finishing) are counted apart.
 */
export function proxiesConnected(pods: readonly PodView[], replicas: readonly (readonly ProxyView[])[] | string): CheckResult {
  const name = 'injected proxies connected and on the current config';
  const injected = pods.filter((p) => p.annotations[INJECTED_ANNOTATION] !== undefined && p.phase === 'Running');
  const ready = injected.filter((p) => p.ready);
  if (typeof replicas === 'string') return fail(name, `cannot read the controller's proxy status: ${replicas}`, 'skiff check reads it through a port-forward to each controller pod (pods/portforward)');
  // A proxy streams from one replica but its acks may reach another (the Service balances each
  // connection): connected on any replica, and up to date when any replica saw it apply the config it was sent.
  const views = Map.groupBy(replicas.flat(), (p) => p.proxy);
  const best = new Map<string, ProxyView>();
  for (const [id, seen] of views) {
    const connected = seen.find((p) => p.connected);
    const desired = connected?.desired;
    const upToDate = seen.some((p) => p.upToDate && (desired === undefined || p.desired === desired)) || (desired !== undefined && seen.some((p) => p.applied === desired));
    best.set(id, { ...(connected ?? seen[0] as ProxyView), connected: connected !== undefined, upToDate });
  }
  const problems: string[] = [];
  for (const pod of ready) {
    const p = best.get(`${pod.namespace}/${pod.name}`);
    if (!p?.connected) problems.push(`${pod.namespace}/${pod.name} not connected`);
    else if (!p.upToDate) problems.push(`${pod.namespace}/${pod.name} not on the current config${p.lastError ? ` (${p.lastError})` : ''}`);
  }
  const apart = injected.length - ready.length;
  const detail = `${ready.length - problems.length} of ${ready.length} Ready pods${apart ? ` (${apart} not Ready, not counted)` : ''}`;
  return problems.length === 0 ? pass(name, detail) : fail(name, problems.join('; '), 'kubectl logs <pod> -c skiff-proxy shows why a proxy cannot connect or refuses its config');
}

/** Pods that asked for the sidecar (or whose namespace did) but run without it: created while the fail-open webhook was down. */
export function injectionMissed(pods: readonly PodView[], namespaces: ReadonlyMap<string, { labels?: Record<string, string>; annotations?: Record<string, string> }>, controlNamespace: string): CheckResult {
  const name = 'every pod that asked for a sidecar has one';
  const missed = pods.filter((p) => {
    if (p.namespace === controlNamespace || p.phase === 'Succeeded' || p.phase === 'Failed') return false;
    const ns = namespaces.get(p.namespace);
    return wantsInjection(p.annotations, namespaceInjectionView(ns?.labels, ns?.annotations)).wanted && !p.containers.includes(PROXY_CONTAINER);
  });
  return missed.length === 0 ? pass(name, 'none missed') : fail(name, `without a sidecar: ${missed.map((p) => `${p.namespace}/${p.name}`).join(', ')}`, 're-create them (kubectl rollout restart …): they were created while the injector was unreachable');
}

/** Flagger's A/B Canaries whose apex an SMI TrafficSplit carries (src/control/flagger.ts): a warning each. */
export function flaggerCanaries(canaries: number | undefined, abOverSmi: readonly AbOverSmi[]): CheckResult {
  const name = 'Flagger canaries usable over SMI';
  if (canaries === undefined) return pass(name, 'Flagger is not installed (no flagger.app/v1beta1 Canaries)');
  if (abOverSmi.length === 0) return pass(name, `${canaries} Canar${canaries === 1 ? 'y' : 'ies'}, none A/B over SMI`);
  return warn(name, abOverSmi.map((a) => a.message).join('; '), 'A/B (analysis.match) needs header routing Flagger does not write to a TrafficSplit: switch these Canaries to stepWeight or to iterations without match');
}
