/**
 * What the progressive-delivery tests run beside the real node: Prometheus
 * discovering the sidecars through the Kubernetes API (examples/flagger/prometheus.yml), a
 * Flagger process per provider; the judgement of a rollout is test/support/rollout-shares.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { waitFor } from '../support/wait.ts';
import { ROOT } from './real-node.ts';

export interface Process { child: ChildProcess; output: () => string; stop: () => Promise<void> }

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Process {
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
  const example = parse(readFileSync(join(ROOT, 'examples', 'flagger', 'prometheus.yml'), 'utf8')) as { scrape_configs: { scrape_interval?: string; kubernetes_sd_configs: Record<string, unknown>[] }[] };
  for (const job of example.scrape_configs) {
    job.scrape_interval = '2s';
    for (const sd of job.kubernetes_sd_configs) sd.kubeconfig_file = kubeconfigPath;
  }
  const dir = join(work, 'prometheus');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prometheus.yml'), stringify({ global: { scrape_interval: '2s', evaluation_interval: '2s' }, ...example }));
  const url = `http://127.0.0.1:${port}`;
  const p = run(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
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

/** Flagger for one namespace and one SMI provider, against the test cluster. */
export async function startFlagger(bin: string, kubeconfigPath: string, options: { namespace: string; provider: string; metricsServer: string; port: number }): Promise<Process> {
  const p = run(bin, [
    `-kubeconfig=${kubeconfigPath}`, `-mesh-provider=${options.provider}`, `-metrics-server=${options.metricsServer}`,
    `-namespace=${options.namespace}`, `-port=${options.port}`, '-log-level=info',
  ]);
  await waitFor(`Flagger (${options.provider}) to be healthy`, () => fetch(`http://127.0.0.1:${options.port}/healthz`).then((r) => r.ok, () => false), 60_000, 250)
    .catch((err: Error) => { throw new Error(`${err.message}\n${p.output().slice(-3000)}`); });
  return p;
}

export { isCanaryPod, sharesPerWeight, type Sample, type StepShare, type WeightChange } from '../support/rollout-shares.ts';
