/** `skiff controller`: the control plane in a cluster (see src/control/). */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { CertificateAuthority } from '../control/ca/authority.ts';
import { CONTROL_IDENTITY_ACCOUNT, DistributionServer, startDebugServer } from '../control/distribute/server.ts';
import { startAggregatedApi } from '../control/traffic/aggregated.ts';
import { localTraffic, meshTrafficBackend } from '../control/traffic/backend.ts';
import { ReplicaPeers } from '../control/traffic/replicas.ts';
import { TrafficStore } from '../control/traffic/store.ts';
import { KubernetesController } from '../control/kubernetes.ts';
import { secretRootStore, tokenReviewVerifier } from '../control/kubernetes-identity.ts';
import { CONTROL_PROBLEM_EVENTS } from '../control/events.ts';
import { LeaderElector } from '../control/leader.ts';
import { loadMeshConfig } from '../control/mesh-config-map.ts';
import { runWebhooks } from '../control/webhooks/run.ts';
import { CONTROLLER_SERVICE, defaultInjectSettings } from '../inject/defaults.ts';
import { DEFAULT_PROXY_UID, parseProxyUid } from '../inject/settings.ts';
import { DEFAULT_IMAGE } from '../lib/version.ts';
import { PORTS } from '../lib/ports.ts';
import { keepTickObjectShape } from '../lib/tick-shape.ts';
import { eventLog } from '../lib/event-log.ts';
import { parseListen } from './proxy.ts';

export const CONTROLLER_USAGE = `Usage: skiff controller [options]

Watches SMI objects, Services, EndpointSlices, Pods and Namespaces; streams every sidecar its
config; issues workload certificates (bootstrap: projected ServiceAccount token, audience
"skiff", checked with TokenReview); writes status conditions on SMI objects (the Lease leader
only); serves the CRD conversion and validating webhooks.

  --kubeconfig FILE        default: in-cluster, else $KUBECONFIG or ~/.kube/config
  --namespace NS           where the CA Secret and the Lease live (default skiff-system)
  --listen HOST:PORT       config stream and certificates (default 0.0.0.0:${PORTS.control})
  --webhook-listen H:P     conversion, validation and injection webhooks (default 0.0.0.0:${PORTS.webhooks})
  --webhook-cert FILE      serving certificate for the webhooks (PEM), e.g. from cert-manager;
  --webhook-key FILE       its key. Without them the controller issues its own from the mesh
                           CA, renews it, and writes caBundle into its webhook configurations
                           and the SMI CRDs itself
  --webhook-ip IP          an extra IP address in the self-issued certificate (repeatable)
  --proxy-image IMAGE      the image injected sidecars run (default ${DEFAULT_IMAGE})
  --proxy-uid UID          the injected proxy's user id (default ${DEFAULT_PROXY_UID})
  --control-url URL        where injected proxies reach this control plane
                           (default https://skiff-controller.<namespace>.svc:${PORTS.control})
  --metrics-api-listen H:P the SMI TrafficMetrics aggregated API, for the API server's front
                           proxy only (default 0.0.0.0:${PORTS.metricsApi}; "off" to not serve it)
  --debug HOST:PORT        /debug/proxies, /debug/topology, … (default 127.0.0.1:${PORTS.debug})
  --mesh-config NAME       ConfigMap (in --namespace) whose key mesh.yaml holds the MeshConfig:
                           trust domain, cluster domain, default access mode (default skiff-mesh;
                           absent: cluster.local, cluster.local, strict)`;

export async function runController(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' }, namespace: { type: 'string' }, listen: { type: 'string' }, 'webhook-listen': { type: 'string' },
      'webhook-cert': { type: 'string' }, 'webhook-key': { type: 'string' }, 'webhook-ip': { type: 'string', multiple: true },
      'proxy-image': { type: 'string' }, 'proxy-uid': { type: 'string' }, 'control-url': { type: 'string' }, debug: { type: 'string' }, 'metrics-api-listen': { type: 'string' }, 'mesh-config': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(CONTROLLER_USAGE);
    return 0;
  }
  const log = pino({ base: { component: 'skiff-controller' } }, pino.destination(2));
  const logEvent = eventLog(log, CONTROL_PROBLEM_EVENTS);
  const kc = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  const namespace = values.namespace ?? 'skiff-system';
  const identity = `${hostname()}-${process.pid}`;
  const elector = new LeaderElector(kc, { namespace, identity });
  elector.on('changed', (leader) => log.info({ event: leader ? 'became-leader' : 'lost-leadership', identity }));
  const settings = await loadMeshConfig(kc, namespace, values['mesh-config']);
  for (const i of settings.issues) log.warn({ event: 'mesh-config-problem', code: i.code, path: i.path, message: i.message });
  log.info({ event: 'mesh-config', found: settings.found, ...settings.mesh });
  const controller = new KubernetesController({ kubeconfig: kc, elector, mesh: settings.mesh, log: logEvent });
  const ca = await CertificateAuthority.open({ trustDomain: settings.mesh.trustDomain, store: secretRootStore(kc, namespace) });
  const at = parseListen(values['webhook-listen'], { host: '0.0.0.0', port: PORTS.webhooks });
  const uid = values['proxy-uid'] === undefined ? DEFAULT_PROXY_UID : parseProxyUid(values['proxy-uid']);
  const injection = defaultInjectSettings({
    controlNamespace: namespace, proxyUid: uid,
    ...(values['proxy-image'] ? { image: values['proxy-image'] } : {}), ...(values['control-url'] ? { controlUrl: values['control-url'] } : {}),
  });
  const files = values['webhook-cert'] && values['webhook-key'] ? { certPem: await readFile(values['webhook-cert'], 'utf8'), keyPem: await readFile(values['webhook-key'], 'utf8') } : undefined;
  const webhooks = await runWebhooks({
    kubeconfig: kc, ca, controller, elector, host: at.host, port: at.port, namespace, service: CONTROLLER_SERVICE, injection,
    ...(files ? { files } : {}), ...(values['webhook-ip']?.length ? { extraNames: { ipAddresses: values['webhook-ip'] } } : {}),
    log: logEvent,
  });
  const listen = parseListen(values.listen, { host: '0.0.0.0', port: PORTS.control });
  const traffic = new TrafficStore();
  const local = localTraffic(controller.controller, traffic);
  const distribution = new DistributionServer({ controller: controller.controller, ca, namespace, host: listen.host, port: listen.port, verifyToken: tokenReviewVerifier(kc), traffic: { store: traffic, local }, log: logEvent });
  keepTickObjectShape(); // before any proxy connects: lib/tick-shape.ts
  await controller.start();
  const url = await distribution.start();
  const peers = new ReplicaPeers({
    kubeconfig: kc, namespace, selector: `app.kubernetes.io/name=${CONTROLLER_SERVICE}`, port: listen.port, ca,
    identity: ca.spiffeId(namespace, CONTROL_IDENTITY_ACCOUNT), log: (event, detail) => log.warn({ event, ...detail }),
  });
  controller.peerAcks = () => peers.acks();
  const backend = meshTrafficBackend(local, { peers, kubeconfig: kc });
  const metricsAt = values['metrics-api-listen'] === 'off' ? undefined : parseListen(values['metrics-api-listen'], { host: '0.0.0.0', port: PORTS.metricsApi });
  const metricsApi = metricsAt ? await startAggregatedApi({ kubeconfig: kc, host: metricsAt.host, port: metricsAt.port, certificate: webhooks.certificate, backend, log: logEvent })
    .catch((err: Error) => {
      // The mesh runs without it; `skiff check` and the APIService's status say it is missing.
      log.error({ event: 'traffic-metrics-api-not-served', error: err.message });
      return undefined;
    }) : undefined;
  if (metricsApi) webhooks.onCertificate((c) => metricsApi.setCertificate(c.certPem, c.keyPem));
  const debug = parseListen(values.debug, { host: '127.0.0.1', port: PORTS.debug });
  const debugServer = await startDebugServer(controller.controller, debug.host, debug.port, { '/debug/traffic': () => ({ series: traffic.size, bytes: traffic.bytes, evicted: traffic.evicted, dropped: traffic.dropped, reports: traffic.reports }) });
  log.info({ event: 'started', configStream: url, webhooks: webhooks.server.url, trafficMetricsApi: metricsApi ? `${metricsAt?.host}:${metricsAt?.port}` : null, webhookCertificates: files ? 'files' : 'self-managed', identity });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await Promise.race([
    Promise.all([controller.stop(), distribution.close(), debugServer.close(), webhooks.stop(), metricsApi?.stop()]),
    new Promise((resolve) => setTimeout(resolve, 5000).unref()),
  ]);
  process.exit(0);
}
