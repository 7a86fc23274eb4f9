/**
 * Argo Rollouts drives Skiff on the real node: the real rollouts controller (built from Go
 * modules, `scripts/delivery-bins.sh --rollouts`) with its TrafficSplit API set to v1alpha1,
 * v1alpha2 and v1alpha3 (one namespace and one controller each, in parallel), plus one
 * namespace without `rootService` (the stable Service is then the split's root and one of its
 * backends). examples/argo-rollouts/ is applied as shipped; its AnalysisTemplate asks
 * Prometheus about the canary's pods. A load client with a sidecar calls the root throughout.
 * Runs on the delivery node that delivery.test.ts shares with the Flagger suite.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sharesPerWeight } from '../support/rollout-shares.ts';
import { waitFor } from '../support/wait.ts';
import { example, follow, meshLogs, restart, startController, startLoad, weightOf, type DeliveryNode, type Process, type Watched } from './delivery.ts';
import { ROOT, type RealNode } from './real-node.ts';

type Version = 'v1alpha1' | 'v1alpha2' | 'v1alpha3';
interface Run extends Watched { version: Version; root: string; controller: Process }
type RolloutStatus = { status?: { phase?: string; abort?: boolean; currentPodHash?: string; stableRS?: string } };

const RUNS: { ns: string; version: Version; root: string }[] = [
  { ns: 'rollouts-v1alpha1', version: 'v1alpha1', root: 'podinfo' },
  { ns: 'rollouts-v1alpha2', version: 'v1alpha2', root: 'podinfo' },
  { ns: 'rollouts-v1alpha3', version: 'v1alpha3', root: 'podinfo' },
  // No rootService: the rollouts controller makes the stable Service the root.
  { ns: 'rollouts-noroot', version: 'v1alpha3', root: 'podinfo-stable' },
];

/** The Argo Rollouts suite, on the node `shared()` gives once its `before` has run; its tests one after another. */
export function describeArgoRollouts(shared: () => DeliveryNode): void {
  describe('Argo Rollouts drives Skiff: SMI canary steps, analysis, promotion and abort for TrafficSplit v1alpha1, v1alpha2 and v1alpha3', { concurrency: 1 }, () => {
    const work = mkdtempSync(join(tmpdir(), 'skiff-rollouts-'));
    let real: RealNode;
    let prometheus: Process & { url: string };
    const runs: Run[] = [];

    const rollout = async (r: Run) => ((await real.cluster.api('GET', `/apis/argoproj.io/v1alpha1/namespaces/${r.ns}/rollouts/podinfo`)).body as RolloutStatus).status ?? {};
    const splitPath = (r: Run) => `/apis/split.smi-spec.io/${r.version}/namespaces/${r.ns}/trafficsplits/podinfo`;

    /** Follows a new revision until promoted (`want: 'promoted'`) or aborted; the other end is an error. */
    async function followRollout(r: Run, want: 'promoted' | 'aborted'): Promise<string> {
      let canaryHash = '';
      await follow(real, r, {
        splitPath: splitPath(r), canaryService: 'podinfo-canary', timeoutMs: 240_000, log: () => r.controller.output(),
        phase: async () => {
          const s = await rollout(r);
          const progressing = s.currentPodHash !== undefined && s.currentPodHash !== s.stableRS;
          if (progressing) canaryHash = s.currentPodHash as string;
          const promoted = canaryHash !== '' && s.stableRS === canaryHash && s.phase === 'Healthy';
          const aborted = canaryHash !== '' && s.abort === true;
          const failed = want === 'promoted' ? aborted : promoted;
          // An abort nobody wanted: say what the analysis measured.
          const analysis = failed ? JSON.stringify(((await real.cluster.api('GET', `/apis/argoproj.io/v1alpha1/namespaces/${r.ns}/analysisruns`)).body as { items: { status?: unknown }[] }).items.map((a) => a.status)) : '';
          return { started: progressing, done: want === 'promoted' ? promoted : aborted, failed, text: `${s.phase ?? 'no phase'}${s.abort ? ', aborted' : ''} ${analysis}` };
        },
      });
      return canaryHash;
    }

    before(async () => {
      const rolloutsBin = process.env.ROLLOUTS_BIN;
      ok(rolloutsBin, 'ROLLOUTS_BIN names what scripts/delivery-bins.sh --rollouts built');
      ({ real, prometheus } = shared());
      for (const [i, run] of RUNS.entries()) {
        const manifests = [
          example('argo-rollouts', 'podinfo.yaml', run.ns, (o) => {
            const smi = ((o.spec?.strategy as { canary?: { trafficRouting?: { smi?: { rootService?: string } } } } | undefined)?.canary?.trafficRouting?.smi);
            if (o.kind === 'Rollout' && smi && run.root !== 'podinfo') delete smi.rootService;
          }),
          example('argo-rollouts', 'analysis-template.yaml', run.ns, (o) => {
            const metrics = (o.spec?.metrics ?? []) as { provider: { prometheus: { address: string } } }[];
            for (const m of metrics) m.provider.prometheus.address = prometheus.url;
          }),
        ];
        const applied = await real.cluster.kubectl(['apply', '-f', '-'], manifests.join('\n---\n'));
        equal(applied.status, 0, applied.stderr);
        const controller = await startController(`the rollouts controller for ${run.ns}`, rolloutsBin, [
          `--kubeconfig=${real.cluster.kubeconfigPath}`, '--namespaced', `--namespace=${run.ns}`, `--traffic-split-api-version=${run.version}`,
          `--metricsPort=${18090 + 2 * i}`, `--healthzPort=${18091 + 2 * i}`, '--leader-elect=false', '--logformat=json',
        ], 18091 + 2 * i);
        runs.push({ ...run, controller, client: '', changes: [], samples: [] });
      }
    });
    after(async () => {
      for (const r of runs) await r.controller.stop();
      rmSync(work, { recursive: true, force: true });
    });

    test('the first revision becomes stable; the controller writes a TrafficSplit of its version, owned by the Rollout, that Skiff accepts', async () => {
      await Promise.all(runs.map(async (r) => {
        await waitFor(`the Rollout in ${r.ns} Healthy`, async () => (await rollout(r)).phase === 'Healthy', 180_000)
          .catch(async (err: Error) => { throw new Error(`${err.message}\n${r.controller.output().slice(-3000)}`); });
        await waitFor(`the TrafficSplit of ${r.ns} Accepted`, async () => ((await real.cluster.api('GET', splitPath(r))).body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True'), 60_000, 250);
        r.client = await startLoad(real, r.ns, 'load', `http://${r.root}.${r.ns}:9898/`);
      }));
    });

    test('a good version is promoted through setWeight 20 and 50: the observed share follows each weight and no request fails', async (t) => {
      await Promise.all(runs.map(async (r) => {
        await restart(r);
        const set = await real.cluster.kubectl(['-n', r.ns, 'patch', 'rollout', 'podinfo', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/env', value: [{ name: 'PODINFO_UI_MESSAGE', value: 'v2' }] }])]);
        equal(set.status, 0, set.stderr);
        const hash = await followRollout(r, 'promoted');
        // Fully promoted, the controller sets the canary's weight back to 0 on its next pass.
        const split = await waitFor(`the split of ${r.ns} back to 0/100`, async () => {
          const got = (await real.cluster.api('GET', splitPath(r))).body as { metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] }; spec: { service: string; backends: { service: string; weight: unknown }[] } };
          return JSON.stringify(got.spec.backends.map((b) => [b.service, weightOf(b.weight)])) === '[["podinfo-canary",0],["podinfo-stable",100]]' && got;
        }, 30_000, 250);
        deepStrictEqual(split.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]), [['Rollout', 'podinfo', true]]);
        equal(split.spec.service, r.root);
        const weights = r.changes.map((c) => c.canary);
        for (const w of [20, 50]) ok(weights.includes(w), `${r.ns}: the split went through ${w} % (saw ${weights.join(', ')})`);
        const failed = r.samples.filter(([, status]) => status !== 200);
        deepStrictEqual(failed.slice(0, 5), [], `${r.ns}: ${failed.length} of ${r.samples.length} requests failed`);
        const shares = sharesPerWeight(r.changes, r.samples, (h) => h.startsWith(`podinfo-${hash}-`));
        t.diagnostic(`${r.ns} (root ${r.root}): ${r.samples.length} requests, ${failed.length} failed; canary share per weight: ${shares.map((s) => `${s.canaryWeight}% → ${((100 * s.toCanary) / s.requests).toFixed(1)}% of ${s.requests}`).join(', ')}`);
        for (const s of shares) {
          // On failure, the evidence: which requests went astray and when, the weights as the test saw them, the mesh's logs.
          if (!s.ok) ok(false, `${r.ns}: at ${s.canaryWeight} % the canary answered ${s.toCanary} of ${s.requests} (σ ${s.sigma.toFixed(3)}); astray: ${JSON.stringify(s.strays)} in [${s.from}, ${s.to}]; weights seen: ${JSON.stringify(r.changes)}\n${await meshLogs(real, r)}`);
        }
        ok(shares.some((s) => s.canaryWeight === 20) && shares.some((s) => s.canaryWeight === 50), `${r.ns}: both steps were judged: ${JSON.stringify(shares)}`);
      }));
    });

    test('a version answering only 500s is aborted by the analysis, and the traffic is back on stable', async () => {
      await Promise.all(runs.map(async (r) => {
        await restart(r);
        const set = await real.cluster.kubectl(['-n', r.ns, 'patch', 'rollout', 'podinfo', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/env', value: [{ name: 'PODINFO_UI_MESSAGE', value: 'v3' }, { name: 'STANDIN_FAILURE', value: '1' }] }])]);
        equal(set.status, 0, set.stderr);
        const hash = await followRollout(r, 'aborted');
        const abortedAt = Date.now();
        await waitFor(`the canary weight back to 0 in ${r.ns}`, async () => {
          const s = (await real.cluster.api('GET', splitPath(r))).body as { spec: { backends: { service: string; weight: unknown }[] } };
          return s.spec.backends.find((b) => b.service === 'podinfo-canary')?.weight !== undefined && weightOf(s.spec.backends.find((b) => b.service === 'podinfo-canary')?.weight) === 0;
        }, 30_000);
        // 40 requests that started at least 2 s after the abort (on a busy 2-core machine the client may need longer than 2 s for them).
        const after = await waitFor(`40 requests after the abort in ${r.ns}`, async () => {
          r.samples.push(...await (await fetch(`http://${r.client}:8080/results`)).json() as typeof r.samples);
          const since = r.samples.filter(([time]) => time > abortedAt + 2000);
          return since.length >= 40 && since;
        }, 30_000, 500);
        const wrong = after.filter(([, status, host]) => status !== 200 || host.startsWith(`podinfo-${hash}-`));
        if (wrong.length > 0) deepStrictEqual(wrong.slice(0, 5), [], `${r.ns}: after the abort (${abortedAt}) only stable answers, and it answers 200\n${await meshLogs(real, r)}`);
        const runsOf = (await real.cluster.api('GET', `/apis/argoproj.io/v1alpha1/namespaces/${r.ns}/analysisruns`)).body as { items: { status?: { phase?: string; metricResults?: { measurements?: { value?: string }[] }[] } }[] };
        const failedRun = runsOf.items.find((a) => a.status?.phase === 'Failed');
        ok(failedRun, `${r.ns}: the analysis failed`);
        equal(failedRun.status?.metricResults?.[0]?.measurements?.at(-1)?.value, '[0]', `${r.ns}: the canary's success rate was measured as 0`);
      }));
    });

    test('an experiment step with its own weight splits three ways: canary, experiment and stable, each its share', async (t) => {
      const r = runs.find((x) => x.version === 'v1alpha2') as Run;
      await restart(r);
      const steps = [{ setWeight: 20 }, { experiment: { duration: '30s', templates: [{ name: 'exp', specRef: 'canary', weight: 20 }] } }, { setWeight: 50 }, { pause: { duration: '10s' } }];
      const patched = await real.cluster.kubectl(['-n', r.ns, 'patch', 'rollout', 'podinfo', '--type=json', '-p', JSON.stringify([
        { op: 'replace', path: '/spec/strategy/canary/steps', value: steps },
        { op: 'replace', path: '/spec/template/spec/containers/0/env', value: [{ name: 'PODINFO_UI_MESSAGE', value: 'v4' }] },
      ])]);
      equal(patched.status, 0, patched.stderr);
      // The period the split has three backends, as the test saw it.
      let backends: { service: string; weight: number }[] = [];
      let from = 0;
      let to = 0;
      await waitFor(`three backends in ${r.ns}, then two again`, async () => {
        const got = (await real.cluster.api('GET', splitPath(r))).body as { spec: { backends: { service: string; weight: unknown }[] } };
        r.samples.push(...await (await fetch(`http://${r.client}:8080/results`)).json() as typeof r.samples);
        if (got.spec.backends.length === 3 && from === 0) {
          from = Date.now();
          backends = got.spec.backends.map((b) => ({ service: b.service, weight: weightOf(b.weight) }));
        }
        if (from !== 0 && got.spec.backends.length !== 3) to = Date.now();
        return to !== 0;
      }, 180_000, 500).catch((err: Error) => { throw new Error(`${err.message}\n${r.controller.output().slice(-3000)}`); });
      equal(backends.filter((b) => b.service !== 'podinfo-canary' && b.service !== 'podinfo-stable').length, 1, `a third backend: ${JSON.stringify(backends)}`);
      const failed = r.samples.filter(([, status]) => status !== 200);
      if (failed.length > 0) deepStrictEqual(failed.slice(0, 5), [], `${failed.length} of ${r.samples.length} requests failed\n${await meshLogs(real, r)}`);
      const hash = (await rollout(r)).currentPodHash as string;
      const kindOf = (host: string) => (host.includes('-exp-') ? 'experiment' : host.startsWith(`podinfo-${hash}-`) ? 'podinfo-canary' : 'podinfo-stable');
      const inPeriod = r.samples.filter(([time, status]) => time > from + 2000 && time < to - 500 && status !== 0);
      const n = inPeriod.length;
      ok(n > 100, `enough requests in the three-way period: ${n}`);
      for (const b of backends) {
        const name = b.service === 'podinfo-canary' || b.service === 'podinfo-stable' ? b.service : 'experiment';
        const got = inPeriod.filter(([, , host]) => kindOf(host) === name).length;
        const p = b.weight / 100;
        t.diagnostic(`${b.service}: weight ${b.weight} %, answered ${got} of ${n} (${((100 * got) / n).toFixed(1)} %)`);
        ok(Math.abs(got / n - p) <= 4.5 * Math.sqrt((p * (1 - p)) / n), `${b.service}: ${got} of ${n} against ${b.weight} %`);
      }
    });

    test('without rootService the split\'s root is the stable Service itself: skiff explain shows it, and its traffic neither loops nor doubles', async () => {
      const r = runs.find((x) => x.root === 'podinfo-stable') as Run;
      const dump = await real.cluster.kubectl(['-n', r.ns, 'get', 'services,pods,trafficsplits.v1alpha4.split.smi-spec.io', '-o', 'json']);
      equal(dump.status, 0, dump.stderr);
      const ns = await real.cluster.kubectl(['get', 'namespace', r.ns, '-o', 'json']);
      const file = join(work, 'noroot.yaml');
      writeFileSync(file, [JSON.parse(ns.stdout) as unknown, ...(JSON.parse(dump.stdout) as { items: unknown[] }).items].map((o) => JSON.stringify(o)).join('\n---\n'));
      const out = await new Promise<string>((resolve) => execFile(process.execPath, [join(ROOT, 'bin', 'skiff.mjs'), 'explain', file], (_err, stdout, stderr) => resolve(stdout + stderr)));
      ok(out.includes(`TrafficSplit ${r.ns}/podinfo`) && out.includes(`root: ${r.ns}/podinfo-stable`), out);
      ok(/port 9898: podinfo-canary 0 \(0%\), podinfo-stable 100 \(100%\)/.test(out), out);
      // Every request the client made was answered once, by a pod (never by a proxy loop's 5xx).
      const s = r.samples.filter(([, status]) => status === 200);
      ok(s.length > 0 && s.every(([, , host]) => host.startsWith('podinfo-')), 'answered by podinfo pods');
    });
  });
}
