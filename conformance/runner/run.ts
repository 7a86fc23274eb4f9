/**
 * Runs scenarios against a cluster, as the upstream harness judges them: each scenario in a
 * fresh namespace, steps in order, stopped at the first failing step; passed = steps before
 * it; capability FULL (all passed), HALF (at least half), NONE.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Cluster, type AppMetrics } from './cluster.ts';
import { appManifests, withNamespace, type Expectation, type MetricsStep, type Profile, type Scenario, type Step, type TrafficStep } from './scenario.ts';

export interface StepResult { step: number; name: string; passed: boolean; durationMs: number; detail: string }
export interface ScenarioResult {
  scenario: string; spec: string; specVersion: string; extra: boolean;
  passed: number; total: number; capability: 'FULL' | 'HALF' | 'NONE'; steps: StepResult[];
}

export interface RunOptions {
  kubeconfig: KubeConfig;
  profile: Profile;
  /** The image the sample app runs in (plain Node 24). */
  image: string;
  /** How long a step may take to pass (upstream: 180 s a test). */
  stepTimeoutMs?: number;
  log?: (line: string) => void;
}

export function judge(expect: Expectation, from: string, seen: Map<string, AppMetrics>): string | undefined {
  const caller = seen.get(from) as AppMetrics;
  const count = (app: string) => (seen.get(app)?.ReqReceived ?? []).filter((c) => c !== '').length;
  if (expect.succeeded !== undefined && caller.RespSucceeded.length !== expect.succeeded) return `${from} saw ${caller.RespSucceeded.length} succeeded, want ${expect.succeeded}`;
  if (expect.failed !== undefined && caller.RespFailed.length !== expect.failed) return `${from} saw ${caller.RespFailed.length} failed, want ${expect.failed}`;
  for (const [app, callers] of Object.entries(expect.received ?? {})) {
    const got = (seen.get(app)?.ReqReceived ?? []).filter((c) => c !== '');
    if (JSON.stringify(got) !== JSON.stringify(callers)) return `${app} received from ${JSON.stringify(got)}, want ${JSON.stringify(callers)}`;
  }
  for (const [app, n] of Object.entries(expect.atLeast ?? {})) if (count(app) < n) return `${app} received ${count(app)}, want at least ${n}`;
  for (const [app, n] of Object.entries(expect.exactly ?? {})) if (count(app) !== n) return `${app} received ${count(app)}, want exactly ${n}`;
  if (expect.more && !(count(expect.more[0]) > count(expect.more[1]))) return `${expect.more[0]} received ${count(expect.more[0])}, not more than ${expect.more[1]}'s ${count(expect.more[1])}`;
  return undefined;
}

/** One attempt: reset every app's record, make the calls through `from`, read the records. */
async function traffic(cluster: Cluster, ns: string, apps: string[], t: TrafficStep): Promise<string | undefined> {
  for (const app of apps) await cluster.app(ns, app, 'DELETE', '/metrics');
  for (const call of t.calls) {
    for (let i = 0; i < (call.count ?? 1); i++) {
      const r = await cluster.app(ns, t.from, 'POST', '/call', { url: withNamespace(call.url, ns), method: call.method ?? 'GET', headers: call.headers ?? {} });
      if (r.status !== 200) return `${t.from} could not make the call (${r.status}): ${JSON.stringify(r.body).slice(0, 200)}`;
    }
  }
  const seen = new Map<string, AppMetrics>();
  for (const app of apps) seen.set(app, await cluster.metrics(ns, app));
  return judge(t.expect, t.from, seen);
}

type MetricsItem = { resource?: { name?: string }; edge?: { direction: string; side: string; resource: { name?: string } }; metrics: { name: string; value: string }[] };

/** The TrafficMetrics answer holds an item for each expectation, with at least those values. */
async function metrics(cluster: Cluster, ns: string, m: MetricsStep): Promise<string | undefined> {
  const r = await cluster.trafficMetrics(withNamespace(m.path, ns));
  if (r.status !== 200) return `the TrafficMetrics API answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`;
  const body = r.body as { items?: MetricsItem[] } & MetricsItem;
  const items = body.items ?? [body];
  const value = (item: MetricsItem, name: string) => {
    const v = item.metrics.find((x) => x.name === name)?.value ?? '0';
    return v.endsWith('m') ? Number(v.slice(0, -1)) / 1000 : Number(v);
  };
  for (const want of m.expect) {
    const item = items.find((i) => (!want.resource || i.resource?.name === want.resource)
      && (!want.edge || (i.edge?.direction === want.edge.direction && i.edge.side === want.edge.side && i.edge.resource.name === want.edge.resource)));
    if (!item) return `no item for ${JSON.stringify(want.edge ?? want.resource)}`;
    for (const [name, n] of Object.entries(want.atLeast)) if (value(item, name) < n) return `${name} is ${value(item, name)}, want at least ${n} (${JSON.stringify(want.edge ?? want.resource)})`;
  }
  return undefined;
}

async function runStep(cluster: Cluster, ns: string, apps: string[], step: Step, deadline: number): Promise<string | undefined> {
  let last: string | undefined = 'not tried';
  while (Date.now() < deadline) {
    try {
      if ('crd' in step) last = (await cluster.crdExists(step.crd)) ? undefined : `CRD ${step.crd} not found`;
      else if ('ready' in step) {
        const waiting: string[] = [];
        for (const app of step.ready) if (!(await cluster.deploymentReady(ns, `${app}-deployment`))) waiting.push(app);
        last = waiting.length ? `not ready: ${waiting.join(', ')}` : undefined;
      } else if ('apply' in step) {
        await cluster.apply(withNamespace(step.apply, ns));
        last = (await cluster.exists(withNamespace(step.apply, ns))) ? undefined : 'the objects are not there after applying';
      } else if ('delete' in step) {
        await cluster.delete(withNamespace(step.delete, ns));
        last = (await cluster.exists(withNamespace(step.delete, ns))) ? 'the objects are still there' : undefined;
        // A deleted object is gone only when every document is: check each one.
        if (!last) for (const doc of withNamespace(step.delete, ns).split(/^---$/m)) if (doc.trim() && (await cluster.exists(doc))) last = 'an object is still there';
      } else if ('metrics' in step) last = await metrics(cluster, ns, step.metrics);
      else last = await traffic(cluster, ns, apps, step.traffic);
    } catch (err) {
      last = (err as Error).message;
    }
    if (last === undefined) return undefined;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last;
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const cluster = new Cluster(options.kubeconfig);
  const ns = `smi-${scenario.name}-${Date.now().toString(36).slice(-5)}`.slice(0, 63);
  const apps = ['app-a', 'app-b', 'app-c'];
  const steps: StepResult[] = [];
  await cluster.createNamespace(ns, options.profile, scenario.access);
  try {
    for (const [i, step] of scenario.steps.entries()) {
      const started = Date.now();
      if ('ready' in step) await cluster.apply(appManifests(scenario.app, ns, options.profile, options.image));
      const problem = await runStep(cluster, ns, apps, step, started + (options.stepTimeoutMs ?? 120_000));
      steps.push({ step: i + 1, name: step.name, passed: problem === undefined, durationMs: Date.now() - started, detail: problem ?? 'ok' });
      options.log?.(`${scenario.name} ${String(i + 1).padStart(2, '0')} ${problem === undefined ? '✔' : '✘'} ${step.name}${problem ? `: ${problem}` : ''}`);
      if (problem !== undefined) break;
    }
  } finally {
    await cluster.deleteNamespace(ns).catch(() => undefined);
  }
  const passed = steps.filter((s) => s.passed).length;
  const total = scenario.steps.length;
  return {
    scenario: scenario.name, spec: scenario.spec, specVersion: scenario.specVersion, extra: scenario.extra ?? false,
    passed, total, capability: passed === total ? 'FULL' : passed >= total / 2 ? 'HALF' : 'NONE', steps,
  };
}

export function renderReport(results: readonly ScenarioResult[]): string[] {
  const upstream = results.filter((r) => !r.extra);
  const sum = (rs: readonly ScenarioResult[], f: (r: ScenarioResult) => number) => rs.reduce((n, r) => n + f(r), 0);
  const lines = ['SPEC             VERSION            PASSED   CAPABILITY'];
  for (const r of results) lines.push(`${r.scenario.padEnd(16)} ${r.specVersion.padEnd(18)} ${`${r.passed}/${r.total}`.padEnd(8)} ${r.capability}${r.extra ? '   (beyond upstream)' : ''}`);
  const p = sum(upstream, (r) => r.passed);
  const t = sum(upstream, (r) => r.total);
  lines.push('', `upstream SMI conformance: ${p}/${t} steps (${t ? ((100 * p) / t).toFixed(1) : '0'}%)`);
  const extra = results.filter((r) => r.extra);
  if (extra.length) lines.push(`beyond upstream: ${sum(extra, (r) => r.passed)}/${sum(extra, (r) => r.total)} steps`);
  return lines;
}
