/**
 * TrafficMetrics checks for the node test: after known traffic from injected load pods, the
 * API answers through the API server (`kubectl get --raw`) with exact counts, every controller
 * replica answers the same whole-mesh numbers (each asked directly, as the front proxy), and
 * `skiff stat` reads it through the kubeconfig.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { DashboardView } from '../../src/dashboard/view-types.ts';
import type { TestCluster } from '../cluster/harness.ts';
import { waitFor } from '../support/wait.ts';

type Item = { resource: { name?: string }; edge?: { direction: string; side: string; resource: { kind?: string; name?: string } }; metrics: { name: string; value: string }[] };
type List = { kind: string; items: Item[] };

const count = (m: Item | undefined, name: string) => Number(m?.metrics.find((x) => x.name === name)?.value ?? 0);

/** Successes per destination deployment, as one side saw them, from a load pod's edges. */
export function perDestination(list: List, side: 'client' | 'server', metric = 'success_count'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of list.items) if (e.edge?.direction === 'to' && e.edge.side === side && e.edge.resource.name) out[e.edge.resource.name] = (out[e.edge.resource.name] ?? 0) + count(e, metric);
  return out;
}

export async function rawMetrics(cluster: TestCluster, path: string): Promise<List> {
  const r = await cluster.kubectl(['get', '--raw', `/apis/metrics.smi-spec.io/v1alpha1${path}`]);
  equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as List;
}

const edgesPath = (pod: string) => `/namespaces/bookstore/pods/${pod}/edges?t=5m&edgeKind=deployments`;
/** Destinations with a non-zero count, in name order: a destination the load never reached has no edge. */
const nonZero = (m: Record<string, number>) => JSON.stringify(Object.entries(m).filter(([, v]) => v !== 0).sort());

/** Waits until the API, asked through the API server, shows `want` for the load pod (reports arrive every 5 s). */
export async function waitForEdges(cluster: TestCluster, pod: string, want: Record<string, number>, metric = 'success_count'): Promise<List> {
  return waitFor(`the TrafficMetrics of ${pod}`, async () => {
    const list = await rawMetrics(cluster, edgesPath(pod));
    return nonZero(perDestination(list, 'client', metric)) === nonZero(want) && list;
  }, 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}: want ${JSON.stringify(want)}, got ${JSON.stringify(perDestination(await rawMetrics(cluster, edgesPath(pod)), 'client', metric))}`);
  });
}

/** Waits until the load pod's edges add up to `total` of `metric`, wherever the requests went. */
export async function waitForTotal(cluster: TestCluster, pod: string, metric: string, total: number): Promise<List> {
  const sum = (list: List) => Object.values(perDestination(list, 'client', metric)).reduce((n, v) => n + v, 0);
  return waitFor(`${total} ${metric} for ${pod}`, async () => {
    const list = await rawMetrics(cluster, edgesPath(pod));
    return sum(list) === total && list;
  }, 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}: got ${sum(await rawMetrics(cluster, edgesPath(pod)))}`);
  });
}

/** Asks every controller replica directly (with the front proxy's certificate) and checks they agree. */
export async function everyReplicaAgrees(cluster: TestCluster, path: string): Promise<void> {
  const pods = (await cluster.api('GET', '/api/v1/namespaces/skiff-system/pods?labelSelector=app.kubernetes.io%2Fname%3Dskiff-controller')).body as { items: { status: { podIP?: string } }[] };
  const ips = pods.items.map((p) => p.status.podIP).filter((ip): ip is string => Boolean(ip));
  ok(ips.length >= 2, `two replicas: ${ips.join(', ')}`);
  const answers = await Promise.all(ips.map(async (ip) => {
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false, cert: cluster.frontProxyClient.certPem, key: cluster.frontProxyClient.keyPem } });
    try {
      const res = await request(`https://${ip}:8444/apis/metrics.smi-spec.io/v1alpha1${path}`, { dispatcher, headers: { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' } });
      equal(res.statusCode, 200, `replica ${ip}`);
      const list = await res.body.json() as List;
      return perDestination(list, 'client');
    } finally {
      await dispatcher.close();
    }
  }));
  for (const a of answers.slice(1)) deepStrictEqual(a, answers[0], 'every replica answers with the whole mesh\'s numbers');
}

export function skiffStat(root: string, kubeconfig: string, ...args: string[]): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'skiff.mjs'), 'stat', '--kubeconfig', kubeconfig, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ status: err ? (err as { code?: number }).code ?? 1 : 0, out: stdout + stderr }));
  });
}

/** Runs `skiff dashboard` against the cluster, reads one view from the address it prints, and stops it. */
export async function skiffDashboardView(root: string, kubeconfig: string, window: string): Promise<{ page: number; view: DashboardView }> {
  const child = spawn(process.execPath, [join(root, 'bin', 'skiff.mjs'), 'dashboard', '--kubeconfig', kubeconfig, '--port', '0', '--no-open', '--window', window], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  try {
    const url = await waitFor('skiff dashboard to print its address', () => /(http:\/\/127\.0\.0\.1:\d+\/dashboard\/)/.exec(output)?.[1] ?? (child.exitCode !== null ? (() => { throw new Error(output); })() : undefined), 60_000, 100);
    const page = await request(url);
    await page.body.dump();
    const view = await request(`${url}api/view`, { headersTimeout: 60_000 });
    return { page: page.statusCode, view: await view.body.json() as DashboardView };
  } finally {
    child.kill('SIGTERM');
  }
}
