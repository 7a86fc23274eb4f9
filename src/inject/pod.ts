/**
 * Injection of one pod (or pod template): the decision (namespace and pod annotations,
 * system namespaces, host network, already injected) and the result — the capture step and
 * the proxy as a native sidecar (an init container with `restartPolicy: Always` whose startup
 * probe holds the application back until the proxy is ready), the identity volume (projected
 * ServiceAccount token with audience `skiff` and the mesh trust bundle), and the marker
 * annotation that makes injection idempotent. Pure: the input is never changed.
 */
import { formatUdpRelayPorts, udpRelayPorts } from '../capture/rules.ts';
import { hasErrors, issue, type Issue } from '../errors/issue.ts';
import { PORTS } from '../lib/ports.ts';
import { IMAGE_NODE, SIDECAR_BUNDLE } from '../lib/image-layout.ts';
import { SIDECAR_ENV, sidecarNodeFlags } from '../lib/sidecar-runtime.ts';
import { INJECT_ANNOTATION, INJECTED_ANNOTATION, scrapeAnnotations, wantsInjection } from './annotations.ts';
import { arr, obj, strings, type Json } from './json.ts';
import { probePaths, rewriteTcpProbes } from './probes.ts';
import { readCapture, readResources, SYSTEM_NAMESPACES, type InjectSettings, type PodCapture, type ProxyResources } from './settings.ts';

export interface PodTemplate {
  metadata?: Json;
  spec?: Json;
}

export const PROXY_CONTAINER = 'skiff-proxy';
export const CAPTURE_CONTAINER = 'skiff-capture';
const CAPTURE_MEMORY_LIMIT = '64Mi';
export const IDENTITY_VOLUME = 'skiff-identity';
export const CERTS_VOLUME = 'skiff-certs';
const IDENTITY_DIR = '/var/run/skiff/identity';
const CERTS_DIR = '/var/run/skiff/certs';
/** Audience of the projected token the control plane reviews (TokenReview) at bootstrap. */
export const TOKEN_AUDIENCE = 'skiff';

export type InjectResult =
  | { injected: true; template: PodTemplate; issues: Issue[] }
  | { injected: false; reason: string; issues: Issue[] };

/** Whether injection already happened: the marker, or a proxy container by name. */
export function isInjected(template: PodTemplate): boolean {
  const spec = obj(template.spec);
  return strings(obj(template.metadata).annotations)[INJECTED_ANNOTATION] !== undefined
    || [...arr(spec.initContainers), ...arr(spec.containers)].some((c) => c.name === PROXY_CONTAINER);
}

/** Whether `port` is in one of the skipped entries (`8080` or a range `9000:9010`). */
function isSkipped(port: number, skipped: readonly string[]): boolean {
  return skipped.some((entry) => {
    const [low, high = low] = entry.split(':').map(Number);
    return port >= (low as number) && port <= (high as number);
  });
}

/** The application's declared UDP ports (`protocol: UDP`), less the skipped ones: what the relay carries. */
export function declaredUdpPorts(spec: Json, skipped: readonly string[]): number[] {
  const out = new Set<number>();
  for (const c of arr(spec.containers)) {
    for (const p of arr(c.ports)) {
      const port = Number(p.containerPort);
      if (String(p.protocol ?? 'TCP').toUpperCase() === 'UDP' && Number.isInteger(port) && port > 0 && port < 65536 && !isSkipped(port, skipped)) out.add(port);
    }
  }
  return [...out].sort((a, b) => a - b);
}

function runsAs(c: Json, pod: Json): number | undefined {
  const own = obj(c.securityContext).runAsUser;
  const inherited = obj(pod.securityContext).runAsUser;
  return typeof own === 'number' ? own : typeof inherited === 'number' ? inherited : undefined;
}

function captureContainer(settings: InjectSettings, capture: PodCapture, udp: ReadonlyMap<number, number>): Json {
  const args = ['capture', '--proxy-uid', String(settings.proxyUid), '--inbound-port', String(PORTS.inbound), '--outbound-port', String(PORTS.outbound)];
  if (udp.size) args.push('--inbound-udp', formatUdpRelayPorts(udp));
  if (capture.skipInboundPorts.length) args.push('--skip-inbound-ports', capture.skipInboundPorts.join(','));
  if (capture.skipOutboundPorts.length) args.push('--skip-outbound-ports', capture.skipOutboundPorts.join(','));
  if (capture.skipOutboundCidrs.length) args.push('--skip-outbound-cidrs', capture.skipOutboundCidrs.join(','));
  return {
    name: CAPTURE_CONTAINER, image: settings.image, imagePullPolicy: settings.imagePullPolicy,
    // The sidecar's small bundle, which also runs `capture`: the whole command did not fit the limit reliably.
    command: [IMAGE_NODE, ...sidecarNodeFlags(CAPTURE_MEMORY_LIMIT), SIDECAR_BUNDLE], args,
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: CAPTURE_MEMORY_LIMIT } },
    // Root with exactly the two capabilities iptables needs, in the pod's network namespace only.
    securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] } },
  };
}

function resourcesOf(r: ProxyResources): Json {
  return { requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { memory: r.memoryLimit, ...(r.cpuLimit ? { cpu: r.cpuLimit } : {}) } };
}

function proxyContainer(settings: InjectSettings, resources: ProxyResources, probes: { paths: string[]; tcpPorts: number[] }, udp: ReadonlyMap<number, number>): Json {
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const health = (path: string, periodSeconds: number, failureThreshold: number) => ({ httpGet: { path, port: PORTS.health }, periodSeconds, failureThreshold, timeoutSeconds: 1 });
  return {
    name: PROXY_CONTAINER, image: settings.image, imagePullPolicy: settings.imagePullPolicy,
    // A native sidecar: started before the application, stopped after it.
    restartPolicy: 'Always',
    // The sidecar's own bundle with its runtime settings (lib/sidecar-runtime.ts), not the whole `skiff` command.
    command: [IMAGE_NODE, ...sidecarNodeFlags(resources.memoryLimit), SIDECAR_BUNDLE],
    args: [
      'proxy', '--control', settings.controlUrl, '--proxy-id', '$(POD_NAMESPACE)/$(POD_NAME)', '--certs', CERTS_DIR,
      '--trust-bundle', `${IDENTITY_DIR}/ca.pem`, '--bootstrap-token-file', `${IDENTITY_DIR}/token`, '--app-host', '$(POD_IP)', '--capture',
      ...(probes.paths.length ? ['--probe-paths', probes.paths.join(',')] : []),
      ...(probes.tcpPorts.length ? ['--probe-tcp-ports', probes.tcpPorts.join(',')] : []),
      ...(udp.size ? ['--inbound-udp', formatUdpRelayPorts(udp)] : []),
    ],
    env: [fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'), fieldEnv('POD_IP', 'status.podIP'), ...Object.entries(SIDECAR_ENV).map(([name, value]) => ({ name, value }))],
    ports: [{ name: 'skiff-health', containerPort: PORTS.health, protocol: 'TCP' }],
    startupProbe: health('/ready', 1, 120),
    readinessProbe: health('/ready', 5, 3),
    livenessProbe: health('/live', 10, 6),
    resources: resourcesOf(resources),
    securityContext: { runAsUser: settings.proxyUid, runAsGroup: settings.proxyUid, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    volumeMounts: [{ name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR, readOnly: true }, { name: CERTS_VOLUME, mountPath: CERTS_DIR }],
  };
}

function volumes(settings: InjectSettings): Json[] {
  return [
    { name: IDENTITY_VOLUME, projected: { sources: [
      { serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: 3600, path: 'token' } },
      { configMap: { name: settings.trustBundleConfigMap, items: [{ key: 'ca.pem', path: 'ca.pem' }] } },
    ] } },
    { name: CERTS_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
  ];
}

/**
 * Injects `template` (a Pod, or a workload's pod template) in `namespace`, whose annotations
 * are `namespaceAnnotations`. A pod's own `skiff.dev/inject` wins over its namespace's.
 */
export function injectPod(template: PodTemplate, namespace: string, namespaceAnnotations: Record<string, string>, settings: InjectSettings): InjectResult {
  const meta = obj(template.metadata);
  const spec = obj(template.spec);
  const annotations = strings(meta.annotations);
  if (SYSTEM_NAMESPACES.includes(namespace) || namespace === settings.controlNamespace) return { injected: false, reason: `namespace ${namespace} is never injected`, issues: [] };
  if (isInjected(template)) return { injected: false, reason: 'already injected', issues: [] };
  const { wanted, own } = wantsInjection(annotations, namespaceAnnotations);
  if (!wanted) return { injected: false, reason: own === false ? `the pod sets ${INJECT_ANNOTATION}: disabled` : `neither the pod nor namespace ${namespace} sets ${INJECT_ANNOTATION}: enabled`, issues: [] };
  if (spec.hostNetwork === true) return { injected: false, reason: 'the pod uses the host network', issues: [issue('SKIFF_W_INJECT_HOST_NETWORK', 'spec.hostNetwork', 'a pod on the host network is never injected')] };
  const issues: Issue[] = [];
  // Proxy resources and capture exclusions set on the namespace apply to its pods; a pod's own win.
  const configured = { ...namespaceAnnotations, ...annotations };
  const capture = readCapture(configured, issues);
  const resources = readResources(settings.resources, configured, issues);
  for (const list of ['initContainers', 'containers'] as const) {
    for (const [i, c] of arr(spec[list]).entries()) {
      if (runsAs(c, spec) === settings.proxyUid) issues.push(issue('SKIFF_E_INJECT_PROXY_UID', `spec.${list}[${i}].securityContext.runAsUser`, `container ${String(c.name)} runs as uid ${settings.proxyUid}, the proxy's; its traffic would bypass the mesh`));
    }
  }
  if (hasErrors(issues)) return { injected: false, reason: 'an injection setting cannot be used', issues };
  const udp = udpRelayPorts(declaredUdpPorts(spec, capture.skipInboundPorts));
  const tcpProbes = rewriteTcpProbes(spec, (port) => !isSkipped(port, capture.skipInboundPorts));
  const injectedSpec: Json = {
    ...spec,
    ...(tcpProbes.ports.length > 0 ? { containers: tcpProbes.containers } : {}),
    initContainers: [captureContainer(settings, capture, udp), proxyContainer(settings, resources, { paths: probePaths(spec), tcpPorts: tcpProbes.ports }, udp), ...arr(spec.initContainers)],
    volumes: [...arr(spec.volumes).filter((v) => v.name !== IDENTITY_VOLUME && v.name !== CERTS_VOLUME), ...volumes(settings)],
  };
  const injectedMeta: Json = { ...meta, annotations: { ...annotations, ...scrapeAnnotations(annotations, PORTS.health), [INJECTED_ANNOTATION]: settings.version } };
  return { injected: true, template: { ...template, metadata: injectedMeta, spec: injectedSpec }, issues };
}
