/**
 * inject: what the sidecar injector adds to a pod, decided purely from the pod, its
 * namespace and the mesh's injection settings. The same code serves the mutating webhook
 * (`skiff controller`, as a JSON patch) and `skiff inject` (on YAML files, offline).
 *
 * This file: the annotations users write, and the ones injection leaves behind.
 */

/** On a namespace or a pod: `enabled` injects, `disabled` opts out (a pod's setting wins). */
export const INJECT_ANNOTATION = 'skiff.dev/inject';
/** Left on every injected pod template: the Skiff version that injected it (injection is idempotent). */
export const INJECTED_ANNOTATION = 'skiff.dev/injected';
/** Resources of the proxy container: Kubernetes quantities, on a pod or its namespace (the pod's win). */
export const PROXY_RESOURCE_ANNOTATIONS = {
  cpuRequest: 'skiff.dev/proxy-cpu-request',
  cpuLimit: 'skiff.dev/proxy-cpu-limit',
  memoryRequest: 'skiff.dev/proxy-memory-request',
  memoryLimit: 'skiff.dev/proxy-memory-limit',
} as const;
/** Traffic capture exclusions, comma-separated: ports (`25,3306` or ranges `9000-9100`) and CIDRs; on a pod or its namespace. */
export const SKIP_ANNOTATIONS = {
  inboundPorts: 'skiff.dev/skip-inbound-ports',
  outboundPorts: 'skiff.dev/skip-outbound-ports',
  outboundCidrs: 'skiff.dev/skip-outbound-cidrs',
} as const;

/**
 * The scrape annotations most Prometheus setups follow (`kubernetes_sd` plus relabelling):
 * injection points them at the sidecar's health listener, which serves `/metrics`, unless the
 * pod already has any `prometheus.io/` annotation (an application's own metrics win; scrape
 * the sidecar by its container port named `skiff-health` then).
 */
export function scrapeAnnotations(annotations: Record<string, string>, healthPort: number): Record<string, string> {
  if (Object.keys(annotations).some((k) => k.startsWith('prometheus.io/'))) return {};
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(healthPort), 'prometheus.io/path': '/metrics' };
}

/** `enabled`/`true` → true, `disabled`/`false` → false, anything else (or absent) → undefined. */
export function injectionSetting(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'enabled' || v === 'true') return true;
  if (v === 'disabled' || v === 'false') return false;
  return undefined;
}

/** A namespace's injection annotations as the injector reads them: the annotation, or the label (which the fail-closed webhook entry selects on); the annotation wins. */
export function namespaceInjectionView(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined): Record<string, string> {
  const label = labels?.[INJECT_ANNOTATION];
  return { ...(label !== undefined ? { [INJECT_ANNOTATION]: label } : {}), ...annotations };
}

/** Whether a pod wants the sidecar: its own `skiff.dev/inject` wins over its namespace's (see namespaceInjectionView); `own` tells which decided. */
export function wantsInjection(podAnnotations: Record<string, string>, namespaceView: Record<string, string>): { wanted: boolean; own: boolean | undefined } {
  const own = injectionSetting(podAnnotations[INJECT_ANNOTATION]);
  return { wanted: own ?? injectionSetting(namespaceView[INJECT_ANNOTATION]) ?? false, own };
}
