/**
 * Runs scenarios against a mesh (a cluster, or Skiff's local mode), as the upstream harness
 * judges them: each scenario in a fresh namespace, steps in order, stopped at the first
 * failing step; passed = steps before it; capability FULL (all passed), HALF (at least
 * half), NONE.
 */
import { appMetrics, type AppMetrics, type MeshTarget } from './target.ts';
import { appManifests, withNamespace, type Expectation, type MetricsStep, type Profile, type Scenario, type ShiftStep, type Step, type TrafficStep } from './scenario.ts';

export interface StepResult { step: number; name: string; passed: boolean; durationMs: number; detail: string }
export interface ScenarioResult {
  scenario: string; spec: string; specVersion: string; extra: boolean;
  passed: number; total: number; capability: 'FULL' | 'HALF' | 'NONE' | 'NOT CLAIMED'; steps: StepResult[];
  /** Why the profile does not claim this scenario (then no step ran). */
  unclaimed?: string;
}

export interface RunOptions {
  /** The mesh under test: a cluster (cluster.ts) or Skiff's local mode (local.ts). */
  target: MeshTarget;
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
async function traffic(mesh: MeshTarget, ns: string, apps: string[], t: TrafficStep): Promise<string | undefined> {
  for (const app of apps) await mesh.app(ns, app, 'DELETE', '/metrics');
  for (const call of t.calls) {
    for (let i = 0; i < (call.count ?? 1); i++) {
      const r = await mesh.app(ns, t.from, 'POST', '/call', { url: withNamespace(call.url, ns), method: call.method ?? 'GET', headers: call.headers ?? {} });
      if (r.status !== 200) return `${t.from} could not make the call (${r.status}): ${JSON.stringify(r.body).slice(0, 200)}`;
    }
  }
  const seen = new Map<string, AppMetrics>();
  for (const app of apps) seen.set(app, await appMetrics(mesh, ns, app));
  return judge(t.expect, t.from, seen);
}

/**
 * What answered each call of a shift, in completion order: an app's name, or `failed: …`; and,
 * where the echo named them, the pods each app answered from (a failure names them).
 */
export function judgeShift(expect: ShiftStep['expect'], answers: readonly string[], pods: ReadonlyMap<string, ReadonlySet<string>> = new Map()): string | undefined {
  const failed = answers.filter((a) => a.startsWith('failed'));
  if (failed.length !== expect.failed) return `${failed.length} of ${answers.length} calls failed, want ${expect.failed} (${[...new Set(failed)].slice(0, 3).join('; ')})`;
  for (const [which, want] of [['first', expect.first], ['last', expect.last]] as const) {
    if (!want) continue;
    const part = which === 'first' ? answers.slice(0, want.calls) : answers.slice(-want.calls);
    const other = part.filter((a) => a !== want.app);
    const named = (app: string) => (pods.get(app)?.size ? `${app} (${[...(pods.get(app) as ReadonlySet<string>)].join(', ')})` : app);
    if (other.length) return `the ${which} ${want.calls} calls were not all answered by ${want.app}: ${other.length} by ${[...new Set(other)].map(named).join(', ')}`;
  }
  return undefined;
}

/** One run of a shift: load through `from`, the change applied part-way, each answer noted. */
async function shift(mesh: MeshTarget, ns: string, s: ShiftStep): Promise<string | undefined> {
  const answers: string[] = [];
  const pods = new Map<string, Set<string>>();
  let next = 0;
  let applying: Promise<void> | undefined;
  const started = Date.now();
  const worker = async () => {
    while (next < s.calls) {
      const slot = started + (next * 1000) / s.rate;
      next += 1;
      if (slot > Date.now()) await new Promise((r) => setTimeout(r, slot - Date.now()));
      const r = await mesh.app(ns, s.from, 'POST', '/call', { url: withNamespace(s.url, ns), method: 'GET', headers: {} });
      const result = r.body as { status?: number; body?: string; error?: string };
      let answer = `failed: ${r.status} ${result.error ?? result.status ?? ''}`;
      if (r.status === 200 && result.status === 200) {
        try {
          const echo = JSON.parse(result.body ?? '') as { service?: string; pod?: string };
          answer = echo.service ?? 'failed: no service in the echo';
          if (echo.pod) pods.set(answer, (pods.get(answer) ?? new Set()).add(echo.pod));
        } catch {
          answer = 'failed: the answer is not the echo';
        }
      }
      answers.push(answer);
      if (answers.length === s.afterCalls) applying = mesh.apply(withNamespace(s.apply, ns));
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, worker));
  await applying;
  const problem = judgeShift(s.expect, answers, pods);
  if (problem === undefined || !mesh.routeOf) return problem;
  const route = await mesh.routeOf(ns, s.from, new URL(withNamespace(s.url, ns)).host).catch((err: Error) => `unknown (${err.message})`);
  return `${problem}; the caller's route now: ${route}`;
}

type MetricsItem = { resource?: { name?: string }; edge?: { direction: string; side: string; resource: { name?: string } }; metrics: { name: string; value: string }[] };

/** The TrafficMetrics answer holds an item for each expectation, with at least those values. */
async function metrics(mesh: MeshTarget, ns: string, m: MetricsStep): Promise<string | undefined> {
  const r = await mesh.trafficMetrics(withNamespace(m.path, ns));
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

async function runStep(mesh: MeshTarget, ns: string, apps: string[], step: Step, deadline: number): Promise<string | undefined> {
  let last: string | undefined = 'not tried';
  while (Date.now() < deadline) {
    try {
      if ('crd' in step) last = (await mesh.crdExists(step.crd)) ? undefined : `CRD ${step.crd} not found`;
      else if ('ready' in step) {
        const waiting: string[] = [];
        for (const app of step.ready) {
          const why = await mesh.deploymentNotReady(ns, `${app}-deployment`);
          if (why !== undefined) waiting.push(why);
        }
        last = waiting.length ? `not ready: ${waiting.join('; ')}` : undefined;
      } else if ('apply' in step) {
        await mesh.apply(withNamespace(step.apply, ns));
        last = (await mesh.exists(withNamespace(step.apply, ns))) ? undefined : 'the objects are not there after applying';
      } else if ('delete' in step) {
        await mesh.delete(withNamespace(step.delete, ns));
        last = (await mesh.exists(withNamespace(step.delete, ns))) ? 'the objects are still there' : undefined;
        // A deleted object is gone only when every document is: check each one.
        if (!last) for (const doc of withNamespace(step.delete, ns).split(/^---$/m)) if (doc.trim() && (await mesh.exists(doc))) last = 'an object is still there';
      } else if ('metrics' in step) last = await metrics(mesh, ns, step.metrics);
      else if ('shift' in step) return await shift(mesh, ns, step.shift);
      else last = await traffic(mesh, ns, apps, step.traffic);
    } catch (err) {
      last = (err as Error).message;
    }
    if (last === undefined) return undefined;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last;
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const base = { scenario: scenario.name, spec: scenario.spec, specVersion: scenario.specVersion, extra: scenario.extra ?? false, total: scenario.steps.length };
  const unclaimed = options.profile.unsupported?.[scenario.name];
  if (unclaimed !== undefined) {
    options.log?.(`${scenario.name} not claimed by the ${options.profile.name} profile: ${unclaimed}`);
    return { ...base, passed: 0, capability: 'NOT CLAIMED', steps: [], unclaimed };
  }
  const mesh = options.target;
  const ns = `smi-${scenario.name}-${Date.now().toString(36).slice(-5)}`.slice(0, 63);
  const apps = ['app-a', 'app-b', 'app-c'];
  const steps: StepResult[] = [];
  await mesh.createNamespace(ns, options.profile, scenario.access);
  try {
    for (const [i, step] of scenario.steps.entries()) {
      const started = Date.now();
      if ('ready' in step) await mesh.apply(appManifests(scenario.app, ns, options.profile, options.image));
      const problem = await runStep(mesh, ns, apps, step, started + (options.stepTimeoutMs ?? 120_000));
      steps.push({ step: i + 1, name: step.name, passed: problem === undefined, durationMs: Date.now() - started, detail: problem ?? 'ok' });
      options.log?.(`${scenario.name} ${String(i + 1).padStart(2, '0')} ${problem === undefined ? '✔' : '✘'} ${step.name}${problem ? `: ${problem}` : ''}`);
      if (problem !== undefined) break;
    }
  } finally {
    await mesh.deleteNamespace(ns).catch(() => undefined);
  }
  const passed = steps.filter((s) => s.passed).length;
  return { ...base, passed, capability: passed === base.total ? 'FULL' : passed >= base.total / 2 ? 'HALF' : 'NONE', steps };
}

export function renderReport(results: readonly ScenarioResult[]): string[] {
  const upstream = results.filter((r) => !r.extra);
  const sum = (rs: readonly ScenarioResult[], f: (r: ScenarioResult) => number) => rs.reduce((n, r) => n + f(r), 0);
  const lines = ['SPEC             VERSION            PASSED   CAPABILITY'];
  for (const r of results) {
    const passed = r.unclaimed === undefined ? `${r.passed}/${r.total}` : `-/${r.total}`;
    lines.push(`${r.scenario.padEnd(16)} ${r.specVersion.padEnd(18)} ${passed.padEnd(8)} ${r.capability}${r.extra ? '   (beyond upstream)' : ''}`);
  }
  const p = sum(upstream, (r) => r.passed);
  const t = sum(upstream, (r) => r.total);
  lines.push('', `upstream SMI conformance: ${p}/${t} steps (${t ? ((100 * p) / t).toFixed(1) : '0'}%)`);
  const extra = results.filter((r) => r.extra && r.unclaimed === undefined);
  if (extra.length) lines.push(`beyond upstream: ${sum(extra, (r) => r.passed)}/${sum(extra, (r) => r.total)} steps`);
  for (const r of results) if (r.unclaimed !== undefined) lines.push(`not claimed: ${r.scenario} (${r.unclaimed})`);
  return lines;
}
