/**
 * What the progressive-delivery tests run beside the real node: Prometheus
 * discovering the sidecars through the Kubernetes API (examples/prometheus/skiff-sidecars.yml), a
 * Flagger process per provider, a rollouts controller per namespace; the judgement of a rollout
 * is test/support/rollout-shares.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { buildAppImage } from '../../scripts/build-image.ts';
import type { Sample, WeightChange } from '../support/rollout-shares.ts';
import { waitFor } from '../support/wait.ts';
import { installCoreDns, installSkiff, ROOT, startRealNode, type RealNode } from './real-node.ts';

export const APPS_IMAGE = 'localhost/skiff-delivery-apps:test';
export const PODINFO_IMAGE = 'ghcr.io/stefanprodan/podinfo:6.9.2';

/** The load client's image, and the podinfo stand-in under podinfo's own name (so the examples apply unchanged). */
export function deliveryImages(dir: string): string[] {
  const apps = join(import.meta.dirname, 'apps');
  return [
    buildAppImage(join(dir, 'apps.oci.tar'), APPS_IMAGE, apps),
    buildAppImage(join(dir, 'podinfo.oci.tar'), PODINFO_IMAGE, apps, undefined, ['/usr/local/bin/node', '/apps/podinfo.mjs']),
  ];
}

type Doc = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> };

/** examples/<dir>/<file> moved into namespace `ns`, each document passed through `edit`. */
export function example(dir: string, file: string, ns: string, edit: (doc: Doc) => void = () => undefined): string {
  return parseAllDocuments(readFileSync(join(ROOT, 'examples', dir, file), 'utf8')).map((d) => {
    const o = d.toJS() as Doc;
    if (o.kind === 'Namespace') o.metadata.name = ns;
    else o.metadata.namespace = ns;
    edit(o);
    return JSON.stringify(o);
  }).join('\n---\n');
}

/** A load client Deployment `name` in `ns` calling `target` 20 times a second (with a sidecar); its pod IP once Ready. */
export async function startLoad(real: RealNode, ns: string, name: string, target: string): Promise<string> {
  const client = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}, annotations: {skiff.dev/skip-inbound-ports: "8080"}}
    spec:
      containers:
      - name: load
        image: ${APPS_IMAGE}
        imagePullPolicy: Never
        args: [/apps/load-client.mjs]
        env: [{name: TARGET, value: "${target}"}, {name: RATE, value: "20"}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}`;
  const loaded = await real.cluster.kubectl(['apply', '-f', '-'], client);
  if (loaded.status !== 0) throw new Error(loaded.stderr);
  return waitFor(`the load client ${name} in ${ns}`, async () => {
    const pods = (await real.cluster.api('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${name}`)).body as { items: { status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[] };
    const p = pods.items.find((x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return p?.status?.podIP;
  }, 120_000);
}

/** The namespace's pods and recent events, and the controller's log tail: what a failure message needs. */
export async function diagnose(real: RealNode, ns: string, log: string): Promise<string> {
  const pods = (await real.cluster.api('GET', `/api/v1/namespaces/${ns}/pods`)).body as { items: { metadata: { name: string }; status?: { phase?: string; conditions?: unknown; containerStatuses?: unknown; initContainerStatuses?: unknown } }[] };
  const events = (await real.cluster.api('GET', `/api/v1/namespaces/${ns}/events`)).body as { items: { involvedObject: { name: string }; reason: string; message: string }[] };
  return [
    `pods: ${JSON.stringify(pods.items.map((p) => ({ name: p.metadata.name, phase: p.status?.phase, conditions: p.status?.conditions, init: p.status?.initContainerStatuses, containers: p.status?.containerStatuses })))}`.slice(0, 6000),
    `events: ${events.items.slice(-25).map((e) => `${e.involvedObject.name} ${e.reason}: ${e.message}`).join('\n')}`,
    `controller: ${log.slice(-2500)}`,
  ].join('\n');
}

/**
 * The load client's sidecar log and the Skiff controllers' log tails, with the split's weight
 * changes as seen: what a failed request's message needs to say which part let it down.
 */
export async function meshLogs(real: RealNode, w: Watched, name = 'load'): Promise<string> {
  const tail = async (args: string[]) => {
    const r = await real.cluster.kubectl([...args, '--tail', '120', '--timestamps']);
    return `${r.stdout}${r.stderr}`.split('\n').filter((l) => !l.includes('"traffic-report')).join('\n');
  };
  return [
    `weights seen: ${w.changes.map((c) => `${c.t} ${c.canary}%`).join(', ')}`,
    `--- ${w.ns}/${name} sidecar\n${await tail(['-n', w.ns, 'logs', `deployment/${name}`, '-c', 'skiff-proxy'])}`,
    `--- skiff controllers\n${await tail(['-n', 'skiff-system', 'logs', '-l', 'app.kubernetes.io/name=skiff-controller', '--prefix'])}`,
    // Last: the pods' readiness (with transition times) and the namespace's events, such as failed probes.
    `--- ${w.ns}\n${await diagnose(real, w.ns, '')}`,
  ].join('\n');
}

export const weightOf = (w: unknown): number => (typeof w === 'number' ? w : String(w).endsWith('m') ? Number(String(w).slice(0, -1)) / 1000 : Number(w));

/** A rollout as the test watches it: the load client's address, the weights seen, the samples fetched. */
export interface Watched { ns: string; client: string; changes: WeightChange[]; samples: Sample[] }

export interface FollowOptions {
  /** The TrafficSplit's API path, and the backend that is the canary. */
  splitPath: string;
  canaryService: string;
  /** The controller's phase for the rollout; `started` once it picked the new revision up. */
  phase: () => Promise<{ started: boolean; done: boolean; failed: boolean; text: string }>;
  timeoutMs: number;
  log: () => string;
  onWeight?: (canary: number) => void;
}

/** Polls the split's weights and the client's samples every 500 ms until the phase says done (or failed: an error). */
export async function follow(real: RealNode, w: Watched, o: FollowOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let started = false;
  // When the poll before this one asked: the split still had its previous weight then.
  let previousAsk: number | undefined;
  for (;;) {
    const asked = Date.now();
    const s = (await real.cluster.api('GET', o.splitPath)).body as { spec?: { backends?: { service: string; weight: unknown }[] } };
    const canary = s.spec?.backends?.find((b) => b.service === o.canaryService);
    const total = (s.spec?.backends ?? []).reduce((n, b) => n + weightOf(b.weight), 0);
    const share = canary && total > 0 ? Math.round((100 * weightOf(canary.weight)) / total) : 0;
    if (w.changes.at(-1)?.canary !== share) {
      w.changes.push({ t: Date.now(), canary: share, ...(previousAsk !== undefined && w.changes.length > 0 ? { notBefore: previousAsk } : {}) });
      o.onWeight?.(share);
    }
    previousAsk = asked;
    w.samples.push(...await (await fetch(`http://${w.client}:8080/results`)).json() as Sample[]);
    const now = await o.phase();
    started ||= now.started;
    if (started && now.done) return;
    if (started && now.failed) throw new Error(`${w.ns}: the rollout ended ${now.text}\n${await diagnose(real, w.ns, o.log())}`);
    if (Date.now() > deadline) throw new Error(`${w.ns}: not done in time (${now.text})\n${await diagnose(real, w.ns, o.log())}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Empties the load client's record and the watch's, before a new rollout. */
export async function restart(w: Watched): Promise<void> {
  await fetch(`http://${w.client}:8080/results`);
  w.changes = [];
  w.samples = [];
}

export interface Process { child: ChildProcess; output: () => string; stop: () => Promise<void> }

/** A process whose output (the newest ~4 MB) is kept for failure messages. */
export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Process {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const chunks: string[] = [];
  let size = 0;
  const keep = (c: Buffer) => {
    chunks.push(c.toString());
    size += c.length;
    // Bounded: the newest ~4 MB.
    while (size > 4_000_000 && chunks.length > 1) size -= (chunks.shift() as string).length;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    output: () => chunks.join(''),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
}

/** Prometheus (`bin`) with the example's scrape job, discovering pods with the test cluster's kubeconfig. */
export async function startPrometheus(bin: string, work: string, kubeconfigPath: string, port: number): Promise<Process & { url: string }> {
  const example = parse(readFileSync(join(ROOT, 'examples', 'prometheus', 'skiff-sidecars.yml'), 'utf8')) as { scrape_configs: { scrape_interval?: string; kubernetes_sd_configs: Record<string, unknown>[] }[] };
  for (const job of example.scrape_configs) {
    job.scrape_interval = '2s';
    for (const sd of job.kubernetes_sd_configs) sd.kubeconfig_file = kubeconfigPath;
  }
  const dir = join(work, 'prometheus');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prometheus.yml'), stringify({ global: { scrape_interval: '2s', evaluation_interval: '2s' }, ...example }));
  const url = `http://127.0.0.1:${port}`;
  const p = startProcess(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
  await waitFor('Prometheus to be ready', () => fetch(`${url}/-/ready`).then((r) => r.ok, () => false), 60_000, 250)
    .catch((err: Error) => { throw new Error(`${err.message}\n${p.output().slice(-2000)}`); });
  return { ...p, url };
}

/** One instant query (at `atMs`, default now); the value of its single sample, or undefined when the result is empty. */
export async function promQuery(url: string, query: string, atMs?: number): Promise<number | undefined> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}${atMs ? `&time=${atMs / 1000}` : ''}`);
  const body = await r.json() as { data?: { result?: { value: [number, string] }[] } };
  const sample = body.data?.result?.[0];
  return sample ? Number(sample.value[1]) : undefined;
}

/** A delivery controller process, once its /healthz on `healthPort` answers. */
export async function startController(what: string, bin: string, args: string[], healthPort: number): Promise<Process> {
  const p = startProcess(bin, args);
  await waitFor(`${what} to be healthy`, () => fetch(`http://127.0.0.1:${healthPort}/healthz`).then((r) => r.ok, () => false), 60_000, 250)
    .catch((err: Error) => { throw new Error(`${err.message}\n${p.output().slice(-3000)}`); });
  return p;
}

/** Flagger for one namespace and one SMI provider, against the test cluster. */
export function startFlagger(bin: string, kubeconfigPath: string, options: { namespace: string; provider: string; metricsServer: string; port: number }): Promise<Process> {
  return startController(`Flagger (${options.provider})`, bin, [
    `-kubeconfig=${kubeconfigPath}`, `-mesh-provider=${options.provider}`, `-metrics-server=${options.metricsServer}`,
    `-namespace=${options.namespace}`, `-port=${options.port}`, '-log-level=info',
  ], options.port);
}

/** The real node with Skiff installed, the delivery tools' CRDs applied, and Prometheus scraping the sidecars. */
export interface DeliveryNode { real: RealNode; prometheus: Process & { url: string } }

export async function startDeliveryNode(work: string, crdsFiles: readonly string[], prometheusBin: string, prometheusPort: number): Promise<DeliveryNode> {
  const real = await startRealNode(work, deliveryImages);
  await installCoreDns(real);
  await installSkiff(real);
  for (const file of crdsFiles) {
    const crds = await real.cluster.kubectl(['apply', '--server-side', '-f', file]);
    if (crds.status !== 0) throw new Error(`applying ${file}: ${crds.stderr}`);
  }
  return { real, prometheus: await startPrometheus(prometheusBin, work, real.cluster.kubeconfigPath, prometheusPort) };
}

/** Stops Prometheus, the node and the control plane (whatever of them started), and removes `work`. */
export async function stopDeliveryNode(work: string, d: Partial<DeliveryNode>): Promise<void> {
  await d.prometheus?.stop();
  try {
    await d.real?.node.stop();
  } finally {
    await d.real?.cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export { isCanaryPod, sharesPerWeight, type Sample, type StepShare, type WeightChange } from '../support/rollout-shares.ts';
