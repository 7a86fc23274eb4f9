/**
 * Scenarios as data (conformance/scenarios/*.yaml): steps that check a CRD, install the sample
 * app, apply or delete SMI objects, or send traffic through app-a and judge what the apps saw.
 * Loading expands `{{namespace}}` and the app templates (`{{app name account labels}}`,
 * `{{service name labels}}`) with the profile's pod annotations. Pure except for reading files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const CONFORMANCE_DIR = join(import.meta.dirname, '..');
export const APP_PORT = 9091;
/** Beyond upstream: the app's line echo over plain TCP (a Service port marked `appProtocol: tcp`) and UDP. */
export const TCP_PORT = 9092;
export const UDP_PORT = 9093;

export interface Expectation {
  /** Responses app-a recorded as 200–399 / other. */
  succeeded?: number;
  failed?: number;
  /** Exactly these callers in an app's ReqReceived (echo and call requests). */
  received?: Record<string, string[]>;
  /** At least / exactly this many requests received per app. */
  atLeast?: Record<string, number>;
  exactly?: Record<string, number>;
  /** The first app received more than the second. */
  more?: [string, string];
}

export interface TrafficStep {
  from: string;
  calls: { url: string; method?: string; headers?: Record<string, string>; count?: number }[];
  expect: Expectation;
}

/**
 * Weights changed under load: `calls` requests to `url` through `from`, `concurrency` at a
 * time, started at most `rate` a second; once `afterCalls` have completed, `apply` is applied while the rest are in flight.
 * Judged per call from the sample app's echo (which app answered), in completion order. Run
 * once, not retried: a change under load happens once.
 */
export interface ShiftStep {
  from: string;
  url: string;
  calls: number;
  concurrency: number;
  rate: number;
  afterCalls: number;
  apply: string;
  expect: {
    failed: number;
    /** The first / last this many calls were all answered by this app. */
    first?: { calls: number; app: string };
    last?: { calls: number; app: string };
  };
}

/** A TrafficMetrics (metrics.smi-spec.io/v1alpha1) answer should hold an item like this. */
export interface MetricsStep {
  /** Under /apis/metrics.smi-spec.io/v1alpha1, e.g. /namespaces/{{namespace}}/deployments/x/edges?t=1m */
  path: string;
  expect: { resource?: string; edge?: { direction: string; side: string; resource: string }; atLeast: Record<string, number> }[];
}

export type Step =
  | { name: string; crd: string }
  | { name: string; metrics: MetricsStep }
  | { name: string; ready: string[] }
  | { name: string; apply: string }
  | { name: string; delete: string }
  | { name: string; traffic: TrafficStep }
  | { name: string; shift: ShiftStep };

export interface Scenario {
  name: string;
  /** The upstream spec this scenario reproduces, and the version it reports. */
  spec: string;
  specVersion: string;
  /** Which access mode the namespace gets from the profile. */
  access: 'strict' | 'permissive';
  /** The sample app layout (conformance/app/<app>.yaml). */
  app: string;
  /** Beyond upstream: an extra scenario of Skiff's suite. */
  extra?: boolean;
  steps: Step[];
}

export interface Profile {
  name: string;
  namespace?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  access: Record<'strict' | 'permissive', { labels?: Record<string, string>; annotations?: Record<string, string> }>;
  pod?: { annotations?: Record<string, string>; labels?: Record<string, string> };
  /** Scenarios the mesh does not claim, with the reason: reported as not run, never as passed. */
  unsupported?: Record<string, string>;
}

export function loadProfile(name: string): Profile {
  return parse(readFileSync(join(CONFORMANCE_DIR, 'profiles', `${name}.yaml`), 'utf8')) as Profile;
}

export function loadScenario(file: string): Scenario {
  return parse(readFileSync(file, 'utf8')) as Scenario;
}

const labelsOf = (text: string) => Object.fromEntries(text.split(',').map((kv) => kv.split('=') as [string, string]));

/** A Deployment of the sample app (the script comes from a ConfigMap, the image is plain Node). */
function appYaml(name: string, account: string, labels: Record<string, string>, profile: Profile, image: string): string {
  const podAnnotations = JSON.stringify(profile.pod?.annotations ?? {});
  const podLabels = JSON.stringify({ ...labels, ...(profile.pod?.labels ?? {}) });
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}-deployment, namespace: "{{namespace}}"}
spec:
  replicas: 1
  selector: {matchLabels: ${JSON.stringify(labels)}}
  template:
    metadata: {labels: ${podLabels}, annotations: ${podAnnotations}}
    spec:
      serviceAccountName: ${account}
      containers:
      - name: app
        image: ${image}
        imagePullPolicy: IfNotPresent
        command: [node, /sample/sample-app.mjs]
        env: [{name: SERVICE_NAME, value: ${name}}, {name: PORT, value: "${APP_PORT}"}, {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}, {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}]
        ports: [{name: http, containerPort: ${APP_PORT}}, {name: tcp-echo, containerPort: ${TCP_PORT}}, {name: udp-echo, containerPort: ${UDP_PORT}, protocol: UDP}]
        readinessProbe: {httpGet: {path: /metrics, port: ${APP_PORT}}, periodSeconds: 1}
        volumeMounts: [{name: sample, mountPath: /sample}]
      volumes: [{name: sample, configMap: {name: smi-conformance-app}}]`;
}

function serviceYaml(name: string, labels: Record<string, string>): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: "{{namespace}}"}
spec:
  selector: ${JSON.stringify(labels)}
  ports:
  - {name: http, port: ${APP_PORT}, targetPort: ${APP_PORT}}
  - {name: tcp-echo, port: ${TCP_PORT}, targetPort: ${TCP_PORT}, appProtocol: tcp}
  - {name: udp-echo, port: ${UDP_PORT}, targetPort: ${UDP_PORT}, protocol: UDP}`;
}

/** The app's manifests for a namespace: the script's ConfigMap first. */
export function appManifests(layout: string, namespace: string, profile: Profile, image: string): string {
  const script = readFileSync(join(CONFORMANCE_DIR, 'app', 'sample-app.mjs'), 'utf8');
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'smi-conformance-app', namespace }, data: { 'sample-app.mjs': script } };
  const text = readFileSync(join(CONFORMANCE_DIR, 'app', `${layout}.yaml`), 'utf8')
    .replace(/\{\{app (\S+) (\S+) (\S+)\}\}/g, (_m, name: string, account: string, labels: string) => appYaml(name, account, labelsOf(labels), profile, image))
    .replace(/\{\{service (\S+) (\S+)\}\}/g, (_m, name: string, labels: string) => serviceYaml(name, labelsOf(labels)));
  return `${JSON.stringify(configMap)}\n---\n${withNamespace(text, namespace)}`;
}

export function withNamespace(text: string, namespace: string): string {
  return text.replaceAll('{{namespace}}', namespace);
}
