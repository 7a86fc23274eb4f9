/**
 * The mesh-wide injection settings (from the controller's flags or `skiff inject`'s), and the
 * per-pod values read from annotations: proxy resources and capture exclusions. Reading never
 * throws: a bad value becomes an Issue naming the annotation and the rule.
 */
import { formatIssue, issue, type Issue } from '../errors/issue.ts';
import { PORTS } from '../lib/ports.ts';
import { parseQuantity } from '../lib/quantity.ts';
import { PROXY_RESOURCE_ANNOTATIONS, SKIP_ANNOTATIONS } from './annotations.ts';

export interface InjectSettings {
  /** The Skiff image (the same image runs the controller, the proxy and the capture step). */
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Where proxies reach the control plane. */
  controlUrl: string;
  /** Skiff's own namespace: never injected. */
  controlNamespace: string;
  /** The proxy's user id; the capture rules let this user's traffic out untouched. */
  proxyUid: number;
  /** Default proxy resources; each can be changed per pod by annotation. */
  resources: ProxyResources;
  /** ConfigMap (in every injected namespace) with the mesh's trust bundle under `ca.pem`. */
  trustBundleConfigMap: string;
  /** The Skiff version, written to `skiff.dev/injected`. */
  version: string;
}

export interface ProxyResources {
  cpuRequest: string;
  cpuLimit?: string;
  memoryRequest: string;
  memoryLimit: string;
}

export const DEFAULT_PROXY_UID = 2102;
export const TRUST_BUNDLE_CONFIGMAP = 'skiff-ca-bundle';
export const DEFAULT_RESOURCES: ProxyResources = { cpuRequest: '50m', memoryRequest: '64Mi', memoryLimit: '128Mi' };
/** Never injected, whatever their annotations say. */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

const PORT_ITEM = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/;
const IPV4_CIDR = /^((?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3})(?:\/([0-9]|[12][0-9]|3[0-2]))?$/;

export interface PodCapture {
  /** Inbound ports that reach the application directly (plus the proxy's own health port). */
  skipInboundPorts: string[];
  skipOutboundPorts: string[];
  skipOutboundCidrs: string[];
}

/** A `--proxy-uid` value: a positive integer (root's traffic must stay captured). */
export function readProxyUid(text: string, issues: Issue[]): number {
  const uid = Number(text);
  if (!Number.isInteger(uid) || uid <= 0) issues.push(issue('SKIFF_E_INJECT_ANNOTATION', '--proxy-uid', `"${text}" is not a non-root user id`));
  return uid;
}

/** `readProxyUid` for command lines that stop at the first bad flag. */
export function parseProxyUid(text: string): number {
  const issues: Issue[] = [];
  const uid = readProxyUid(text, issues);
  if (issues[0]) throw new Error(formatIssue(issues[0]));
  return uid;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `25,3306,9000-9100` → the same items, checked; ranges as `9000:9100` (iptables' spelling). */
export function readPorts(annotation: string, value: string | undefined, issues: Issue[]): string[] {
  const out: string[] = [];
  for (const item of list(value)) {
    const m = PORT_ITEM.exec(item);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || from < 1 || to > 65535 || to < from) {
      issues.push(issue('SKIFF_E_INJECT_ANNOTATION', `metadata.annotations["${annotation}"]`, `"${item}" is not a port (1-65535) or a range low-high`));
      continue;
    }
    out.push(from === to ? String(from) : `${from}:${to}`);
  }
  return out;
}

export function readCidrs(annotation: string, value: string | undefined, issues: Issue[]): string[] {
  const out: string[] = [];
  for (const item of list(value)) {
    const m = IPV4_CIDR.exec(item);
    if (!m) {
      issues.push(issue('SKIFF_E_INJECT_ANNOTATION', `metadata.annotations["${annotation}"]`, `"${item}" is not an IPv4 address or CIDR (a.b.c.d/n)`));
      continue;
    }
    out.push(m[2] === undefined ? `${m[1]}/32` : item);
  }
  return out;
}

export function readCapture(annotations: Record<string, string>, issues: Issue[]): PodCapture {
  return {
    skipInboundPorts: [String(PORTS.health), ...readPorts(SKIP_ANNOTATIONS.inboundPorts, annotations[SKIP_ANNOTATIONS.inboundPorts], issues)],
    skipOutboundPorts: readPorts(SKIP_ANNOTATIONS.outboundPorts, annotations[SKIP_ANNOTATIONS.outboundPorts], issues),
    skipOutboundCidrs: readCidrs(SKIP_ANNOTATIONS.outboundCidrs, annotations[SKIP_ANNOTATIONS.outboundCidrs], issues),
  };
}

export function readResources(defaults: ProxyResources, annotations: Record<string, string>, issues: Issue[]): ProxyResources {
  const out: ProxyResources = { ...defaults };
  for (const [field, annotation] of Object.entries(PROXY_RESOURCE_ANNOTATIONS) as [keyof ProxyResources, string][]) {
    const value = annotations[annotation]?.trim();
    if (value === undefined) continue;
    if (parseQuantity(value) === undefined) {
      issues.push(issue('SKIFF_E_INJECT_ANNOTATION', `metadata.annotations["${annotation}"]`, `"${value}" is not a Kubernetes quantity (e.g. 100m, 64Mi)`));
      continue;
    }
    out[field] = value;
  }
  return out;
}
