/**
 * The install manifests, built from InstallOptions: `skiff install` prints them, deploy/ is the
 * same output with the defaults as kustomize files (`npm run deploy` writes it; a test fails
 * when the committed files differ). One source: change the install here.
 */
import { stringify } from 'yaml';
import { buildCrd, CONVERTED_CRD_NAMES } from '../api/crds.ts';
import { ALL_KINDS, SMI_KINDS } from '../api/meta.ts';
import { CONTROLLER_SERVICE } from '../inject/defaults.ts';
import { SYSTEM_NAMESPACES, TRUST_BUNDLE_CONFIGMAP } from '../inject/settings.ts';
import { CONTROLLER_NODE_FLAGS } from '../lib/controller-runtime.ts';
import { IMAGE_NODE, SKIFF_CLI } from '../lib/image-layout.ts';
import { PORTS } from '../lib/ports.ts';
import { MESH_CONFIG_API_VERSION, MESH_CONFIG_KIND, MESH_CONFIG_MAP } from '../sources/mesh-config.ts';
import type { InstallOptions } from './options.ts';

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };
/** A manifest with the comment printed above it (why it is the way it is). */
export interface Manifest { comment?: string; object: KubeObject }
/** One file of deploy/: its header comment and its manifests, in apply order. */
export interface ManifestFile { name: string; comment: string; manifests: Manifest[] }

export const INJECTOR_WEBHOOK = 'skiff-injector';
export const VALIDATION_WEBHOOK = 'skiff-smi-validation';
/** The APIService of the SMI TrafficMetrics API, served by the controller. */
export const METRICS_API_SERVICE = 'v1alpha1.metrics.smi-spec.io';
const METRICS_READER = 'skiff-traffic-metrics-reader';
const PART_OF = { 'app.kubernetes.io/part-of': 'skiff' };
const SMI_GROUPS = [...new Set(ALL_KINDS.map((k) => SMI_KINDS[k].group))];

export function crdManifests(o: InstallOptions): Manifest[] {
  return ALL_KINDS.map((k) => ({ object: buildCrd(SMI_KINDS[k], o.namespace) as KubeObject }));
}

function namespaceFile(o: InstallOptions): ManifestFile {
  const mesh = { apiVersion: MESH_CONFIG_API_VERSION, kind: MESH_CONFIG_KIND, spec: { trustDomain: o.trustDomain, clusterDomain: o.clusterDomain, defaultAccessMode: o.defaultAccessMode } };
  return {
    name: 'namespace.yaml', comment: 'The control plane\'s namespace, its ServiceAccount, and the mesh-wide settings it reads at start.',
    manifests: [
      { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace, labels: { ...PART_OF } } } },
      { object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CONTROLLER_SERVICE, namespace: o.namespace, labels: { ...PART_OF } } } },
      {
        comment: 'A new trust domain means new certificates for every workload: change it with a controller restart.',
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: MESH_CONFIG_MAP.name, namespace: o.namespace, labels: { ...PART_OF } }, data: { [MESH_CONFIG_MAP.key]: stringify(mesh) } },
      },
    ],
  };
}

function rbacFile(o: InstallOptions): ManifestFile {
  const subject = [{ kind: 'ServiceAccount', name: CONTROLLER_SERVICE, namespace: o.namespace }];
  const clusterRules = [
    { apiGroups: [''], resources: ['namespaces', 'services', 'pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: SMI_GROUPS, resources: ['*'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: SMI_GROUPS, resources: ALL_KINDS.map((k) => `${SMI_KINDS[k].plural}/status`), verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    // Flagger's Canaries, to warn about A/B canaries over SMI (src/control/flagger.ts).
    { apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['list'] },
    // The trust bundle ConfigMap in every namespace, for injected pods.
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [TRUST_BUNDLE_CONFIGMAP], verbs: ['get', 'update'] },
    // Self-managed webhook certificates: caBundle in Skiff's own webhook configurations and CRDs only.
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [INJECTOR_WEBHOOK], verbs: ['get', 'patch'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: [VALIDATION_WEBHOOK], verbs: ['get', 'patch'] },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: [...CONVERTED_CRD_NAMES], verbs: ['get', 'patch'] },
    { apiGroups: ['apiregistration.k8s.io'], resources: ['apiservices'], resourceNames: [METRICS_API_SERVICE], verbs: ['get', 'patch'] },
    // The TrafficMetrics API: who may read it (SubjectAccessReview), and label selectors on workloads and nodes.
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: ['list'] },
    { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
    { apiGroups: [''], resources: ['replicationcontrollers', 'nodes'], verbs: ['list'] },
  ];
  const namespaceRules = [
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [MESH_CONFIG_MAP.name], verbs: ['get'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ];
  const rbac = 'rbac.authorization.k8s.io/v1';
  return {
    name: 'rbac.yaml',
    comment: 'Least privilege: read what the mesh depends on, write only SMI status, review tokens, publish the\ntrust bundle, patch caBundle into its own webhooks and CRDs, and keep the CA Secret and the\nleader Lease in its own namespace.',
    manifests: [
      { object: { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: CONTROLLER_SERVICE, labels: { ...PART_OF } }, rules: clusterRules } },
      { object: { apiVersion: rbac, kind: 'ClusterRoleBinding', metadata: { name: CONTROLLER_SERVICE, labels: { ...PART_OF } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CONTROLLER_SERVICE }, subjects: subject } },
      { object: { apiVersion: rbac, kind: 'Role', metadata: { name: CONTROLLER_SERVICE, namespace: o.namespace, labels: { ...PART_OF } }, rules: namespaceRules } },
      { object: { apiVersion: rbac, kind: 'RoleBinding', metadata: { name: CONTROLLER_SERVICE, namespace: o.namespace, labels: { ...PART_OF } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CONTROLLER_SERVICE }, subjects: subject } },
      {
        comment: 'An aggregated API server reads the front proxy\'s CA and allowed names from here.',
        object: { apiVersion: rbac, kind: 'RoleBinding', metadata: { name: `${CONTROLLER_SERVICE}-auth-reader`, namespace: 'kube-system', labels: { ...PART_OF } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'extension-apiserver-authentication-reader' }, subjects: subject },
      },
      {
        comment: 'Reading traffic metrics comes with the built-in view, edit and admin roles (aggregated).',
        object: {
          apiVersion: rbac, kind: 'ClusterRole', metadata: { name: METRICS_READER, labels: { ...PART_OF, 'rbac.authorization.k8s.io/aggregate-to-view': 'true', 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } },
          rules: [{ apiGroups: ['metrics.smi-spec.io'], resources: ['*'], verbs: ['get', 'list'] }],
        },
      },
    ],
  };
}

function controllerFile(o: InstallOptions): ManifestFile {
  const labels = { 'app.kubernetes.io/name': CONTROLLER_SERVICE, ...PART_OF };
  const selector = { 'app.kubernetes.io/name': CONTROLLER_SERVICE };
  return {
    name: 'controller.yaml',
    comment: 'The control plane. The image is built by `npm run image` and loaded into the node\'s runtime (no\nregistry needed): ctr -n k8s.io images import dist/skiff-<version>.oci.tar (or kind load image-archive).\nWebhook certificates are issued by the mesh CA and renewed by the controller itself; with\ncert-manager, mount its Secret and add --webhook-cert/--webhook-key (docs/install.md).',
    manifests: [
      {
        object: {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: CONTROLLER_SERVICE, namespace: o.namespace, labels },
          spec: {
            replicas: o.replicas, selector: { matchLabels: selector },
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: CONTROLLER_SERVICE,
                containers: [{
                  name: 'controller', image: o.image, imagePullPolicy: 'IfNotPresent',
                  command: [IMAGE_NODE, ...CONTROLLER_NODE_FLAGS, SKIFF_CLI],
                  args: ['controller', '--namespace', o.namespace, '--proxy-image', o.image],
                  ports: [{ name: 'config', containerPort: PORTS.control }, { name: 'webhooks', containerPort: PORTS.webhooks }, { name: 'metrics-api', containerPort: PORTS.metricsApi }],
                  readinessProbe: { tcpSocket: { port: 'config' } },
                  resources: { requests: { cpu: '100m', memory: '256Mi' } },
                  securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                }],
              },
            },
          },
        },
      },
      {
        object: {
          apiVersion: 'v1', kind: 'Service', metadata: { name: CONTROLLER_SERVICE, namespace: o.namespace, labels: { ...PART_OF } },
          spec: { selector, ports: [{ name: 'webhooks', port: 443, targetPort: 'webhooks' }, { name: 'config', port: PORTS.control, targetPort: 'config' }, { name: 'metrics-api', port: PORTS.metricsApi, targetPort: 'metrics-api' }] },
        },
      },
    ],
  };
}

function webhooksFile(o: InstallOptions): ManifestFile {
  const service = (path: string) => ({ service: { namespace: o.namespace, name: CONTROLLER_SERVICE, path, port: 443 } });
  const notSystem = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES, o.namespace] };
  const podCreate = [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }];
  const inject = { admissionReviewVersions: ['v1'], sideEffects: 'None', reinvocationPolicy: 'Never', timeoutSeconds: 10, clientConfig: service('/inject') };
  return {
    name: 'webhooks.yaml', comment: 'Admission webhooks, served by the controller; it writes their caBundle itself.',
    manifests: [
      {
        comment: 'SMI objects are checked before they are stored: a broken split or target is refused with its\nSKIFF_E_ code, not discovered later. Fails closed: nothing unchecked reaches the mesh.',
        object: {
          apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: VALIDATION_WEBHOOK, labels: { ...PART_OF } },
          webhooks: [{
            name: 'smi.validate.skiff.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 5, clientConfig: service('/validate'),
            rules: [{ apiGroups: SMI_GROUPS, apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['*'] }],
          }],
        },
      },
      {
        comment: 'Sidecar injection. Two entries, one handler:\n- namespaces LABELLED skiff.dev/inject=enabled fail closed (failurePolicy: Fail): a pod there\n  is never created without its sidecar, even while the controller is down (pods wait);\n- every other namespace (pods or namespaces ANNOTATED skiff.dev/inject: enabled) fails open\n  (Ignore), so an unavailable controller never blocks pod creation cluster-wide; a pod that\n  missed its sidecar that way is reported by `skiff check`.\n10 s timeout: injection is pure computation (milliseconds); the margin covers a controller\nrestart\'s first namespace read. System namespaces and Skiff\'s own are never sent here.',
        object: {
          apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: INJECTOR_WEBHOOK, labels: { ...PART_OF } },
          webhooks: [
            { name: 'labelled.inject.skiff.dev', ...inject, failurePolicy: 'Fail', namespaceSelector: { matchLabels: { 'skiff.dev/inject': 'enabled' }, matchExpressions: [notSystem] }, rules: podCreate },
            { name: 'annotated.inject.skiff.dev', ...inject, failurePolicy: 'Ignore', namespaceSelector: { matchExpressions: [{ key: 'skiff.dev/inject', operator: 'NotIn', values: ['enabled'] }, notSystem] }, rules: podCreate },
          ],
        },
      },
    ],
  };
}

function trafficMetricsFile(o: InstallOptions): ManifestFile {
  return {
    name: 'traffic-metrics.yaml', comment: 'The SMI TrafficMetrics API (metrics.smi-spec.io/v1alpha1), served by the controller through the\nAPI server: `kubectl get --raw /apis/metrics.smi-spec.io/v1alpha1/namespaces/<ns>/deployments`.\nThe controller writes caBundle itself (self-managed certificates) and checks every request\'s user\nwith a SubjectAccessReview.',
    manifests: [{
      object: {
        apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: METRICS_API_SERVICE, labels: { ...PART_OF } },
        spec: { group: 'metrics.smi-spec.io', version: 'v1alpha1', service: { namespace: o.namespace, name: CONTROLLER_SERVICE, port: PORTS.metricsApi }, groupPriorityMinimum: 100, versionPriority: 100 },
      },
    }],
  };
}

/** deploy/'s files (without the CRDs, which kustomize takes from smi-crds/), in apply order. */
export function installFiles(o: InstallOptions): ManifestFile[] {
  return [namespaceFile(o), rbacFile(o), controllerFile(o), webhooksFile(o), trafficMetricsFile(o)];
}

/** Every manifest of an install, in apply order: CRDs first, webhooks last (they need the controller). */
export function installManifests(o: InstallOptions): Manifest[] {
  return [...crdManifests(o), ...installFiles(o).flatMap((f) => f.manifests)];
}

const comment = (text: string) => text.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n';

export function renderManifests(manifests: readonly Manifest[]): string {
  return manifests.map((m) => (m.comment ? comment(m.comment) : '') + stringify(m.object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

const DEPLOY_HEADER = '# Generated by `npm run deploy` from src/install/ (the same output as `skiff install`). Do not edit by hand.\n';

/** File name → content for deploy/: the default install as kustomize files (`kubectl apply -k deploy/`). */
export function renderDeployFiles(o: InstallOptions): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of installFiles(o)) files.set(f.name, DEPLOY_HEADER + comment(f.comment) + renderManifests(f.manifests));
  const kustomization = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['../smi-crds', ...files.keys()] };
  files.set('kustomization.yaml', `${DEPLOY_HEADER}${comment('Installs Skiff in a cluster: `kubectl apply -k deploy/`. Nothing else is needed: the controller issues\nits webhook certificate from the mesh CA and writes caBundle into the webhook configurations and CRDs.')}${stringify(kustomization)}`);
  return files;
}

/**
 * What `skiff uninstall` prints for `kubectl delete -f -`: the install in reverse (webhooks
 * first, so pod creation never waits on a controller being deleted), names only. The CRDs go
 * last and take every SMI object with them unless they are kept.
 */
export function uninstallManifests(o: InstallOptions, keepCrds: boolean): Manifest[] {
  const all = keepCrds ? installFiles(o).flatMap((f) => f.manifests) : installManifests(o);
  return all.toReversed().map(({ object }) => ({
    object: { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) } },
  }));
}
