/**
 * Flagger drives Skiff on the real node, as a user runs it: the real Flagger (built from Go
 * modules, scripts/delivery-bins.sh) for each SMI provider (smi:v1alpha1, v1alpha2, v1alpha3,
 * one namespace each, in parallel), Prometheus (built the same way) discovering the sidecars through the
 * Kubernetes API, and examples/flagger/ applied as shipped (podinfo, Skiff's MetricTemplates,
 * the Canary). A load client pod with a sidecar calls the apex Service throughout; what it saw
 * is judged against the weights the TrafficSplit went through. Runs on the delivery node that
 * delivery.test.ts shares with the Argo Rollouts suite.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { runChecks } from '../../src/check/cluster.ts';
import { formatResult } from '../../src/check/result.ts';
import { waitFor } from '../support/wait.ts';
import { example, follow, promQuery, restart, startFlagger, startLoad, weightOf, type DeliveryNode, type Process, type Watched } from './delivery.ts';
import { skiffStat } from './traffic-metrics.ts';
import { ROOT, type RealNode } from './real-node.ts';
import { isCanaryPod, sharesPerWeight, type Sample } from '../support/rollout-shares.ts';

const PROVIDERS = ['v1alpha1', 'v1alpha2', 'v1alpha3'] as const;
type Version = (typeof PROVIDERS)[number];

interface Rollout extends Watched { version: Version; flagger: Process; failing?: { from: number; to: number } }

/** examples/flagger/<file> for namespace `ns`: Prometheus' address and the provider replaced. */
function flaggerExample(file: string, ns: string, version: Version, prometheus: string): string {
  return example('flagger', file, ns, (o) => {
    const provider = o.spec?.provider as { address?: string } | string | undefined;
    if (o.kind === 'MetricTemplate' && typeof provider === 'object') provider.address = prometheus;
    if (o.kind === 'Canary' && o.spec) o.spec.provider = `smi:${version}`;
  });
}

/** The Flagger suite, on the node `shared()` gives once its `before` has run; its tests one after another. */
export function describeFlagger(shared: () => DeliveryNode): void {
  describe('Flagger drives Skiff: canary analysis, promotion and rollback for smi:v1alpha1, v1alpha2 and v1alpha3', { concurrency: 1 }, () => {
    let real: RealNode;
    let prometheus: Process & { url: string };
    const rollouts: Rollout[] = [];

    const api = (method: string, path: string, body?: unknown) => real.cluster.api(method, path, body);
    const phase = async (r: Rollout) => ((await api('GET', `/apis/flagger.app/v1beta1/namespaces/${r.ns}/canaries/podinfo`)).body as { status?: { phase?: string } }).status?.phase;
    const split = async (r: Rollout) => (await api('GET', `/apis/split.smi-spec.io/${r.version}/namespaces/${r.ns}/trafficsplits/podinfo`)).body as { spec?: { backends?: { service: string; weight: unknown }[] }; status?: { conditions?: { type: string; status: string }[] } };

    /** Follows a rollout until the Canary, having started progressing, is `until` (the other end is an error). */
    const followCanary = (r: Rollout, until: 'Succeeded' | 'Failed', timeoutMs: number, onWeight?: (canary: number) => void) => follow(real, r, {
      splitPath: `/apis/split.smi-spec.io/${r.version}/namespaces/${r.ns}/trafficsplits/podinfo`, canaryService: 'podinfo-canary', timeoutMs, log: () => r.flagger.output(),
      ...(onWeight ? { onWeight } : {}),
      phase: async () => {
        const now = await phase(r);
        return { started: now === 'Progressing', done: now === until, failed: now === (until === 'Succeeded' ? 'Failed' : 'Succeeded'), text: now ?? 'no phase' };
      },
    });

    before(async () => {
      const flaggerBin = process.env.FLAGGER_BIN;
      ok(flaggerBin, 'FLAGGER_BIN names what scripts/delivery-bins.sh built');
      ({ real, prometheus } = shared());
      for (const [i, version] of PROVIDERS.entries()) {
        const ns = `flagger-${version}`;
        const applied = await real.cluster.kubectl(['apply', '-f', '-'], ['podinfo.yaml', 'metric-templates.yaml'].map((f) => flaggerExample(f, ns, version, prometheus.url)).join('\n---\n'));
        equal(applied.status, 0, applied.stderr);
        const flagger = await startFlagger(flaggerBin, real.cluster.kubeconfigPath, { namespace: ns, provider: `smi:${version}`, metricsServer: prometheus.url, port: 18080 + i });
        rollouts.push({ ns, version, flagger, client: '', changes: [], samples: [] });
      }
    });
    after(async () => {
      for (const r of rollouts) await r.flagger.stop();
    });

    test('Flagger initialises each canary: primary Deployment, Services, a TrafficSplit of its version that Skiff accepts', async () => {
      await Promise.all(rollouts.map(async (r) => {
        await waitFor(`podinfo Ready in ${r.ns}`, async () => ((await api('GET', `/apis/apps/v1/namespaces/${r.ns}/deployments/podinfo`)).body as { status?: { readyReplicas?: number } }).status?.readyReplicas === 1, 120_000);
        const applied = await real.cluster.kubectl(['apply', '-f', '-'], flaggerExample('canary.yaml', r.ns, r.version, prometheus.url));
        equal(applied.status, 0, applied.stderr);
        await waitFor(`the canary in ${r.ns} Initialized`, async () => (await phase(r)) === 'Initialized', 180_000)
          .catch((err: Error) => { throw new Error(`${err.message}\n${r.flagger.output().slice(-4000)}`); });
        const apex = (await api('GET', `/api/v1/namespaces/${r.ns}/services/podinfo`)).body as { spec: { selector: Record<string, string> } };
        deepStrictEqual(apex.spec.selector, { app: 'podinfo-primary' });
        const s = await split(r);
        deepStrictEqual(s.spec?.backends?.map((b) => [b.service, weightOf(b.weight)]), [['podinfo-canary', 0], ['podinfo-primary', 100]]);
        await waitFor(`the TrafficSplit in ${r.ns} Accepted`, async () => (await split(r)).status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True'), 30_000);
        // The load client: 20 requests a second to the apex, through its sidecar.
        r.client = await startLoad(real, r.ns, 'load', `http://podinfo.${r.ns}:9898/`);
      }));
    });
    test('a good version is promoted: each weight step is the share the client observes, and no request fails', async (t) => {
      let seen = '';
      let capture: Promise<void> | undefined;
      await Promise.all(rollouts.map(async (r) => {
        await restart(r);
        const patched = await real.cluster.kubectl(['-n', r.ns, 'set', 'env', 'deployment/podinfo', 'PODINFO_UI_MESSAGE=v2']);
        equal(patched.status, 0, patched.stderr);
        await followCanary(r, 'Succeeded', 420_000, (canary) => {
          if (r.version !== 'v1alpha3' || canary !== 30) return;
          // What a user sees mid-rollout (docs/flagger.md shows this output): a few seconds into
          // the 30 % step. On a slow machine Flagger may have moved on to 40 % by then, and a
          // step just taken is Programmed a moment later: up to three looks, 2 s apart.
          capture = (async () => {
            await new Promise((res) => setTimeout(res, 3000));
            for (let look = 0; look < 3; look++) {
              const stat = await skiffStat(ROOT, real.cluster.kubeconfigPath, 'trafficsplit/podinfo', '-n', r.ns, '-t', '10s');
              const split = await real.cluster.kubectl(['-n', r.ns, 'get', 'trafficsplit', 'podinfo']);
              seen = `$ kubectl -n ${r.ns} get trafficsplit podinfo\n${split.stdout}\n$ skiff stat trafficsplit/podinfo -n ${r.ns} -t 10s\n${stat.out}`;
              if (/podinfo\s+podinfo\s+True\s+True/.test(seen)) return;
              await new Promise((res) => setTimeout(res, 2000));
            }
          })();
        });
      }));
      await capture;
      for (const line of seen.split('\n')) t.diagnostic(line);
      ok(/podinfo-canary\s+[345]0%/.test(seen), seen);
      // Two controller replicas share the proxies; the leader counts the acks made to either.
      if (!/podinfo\s+podinfo\s+True\s+True/.test(seen)) {
        // What the next look at this needs: each controller replica's own account (leadership, peers asked, status writes).
        const logs = await real.cluster.kubectl(['-n', 'skiff-system', 'logs', '-l', 'app.kubernetes.io/name=skiff-controller', '--prefix', '--tail', '80']);
        ok(false, `Programmed once every caller applied the weights:\n${seen}\n$ kubectl -n skiff-system logs -l app.kubernetes.io/name=skiff-controller --prefix --tail 80\n${logs.stdout}${logs.stderr}`);
      }
      for (const r of rollouts) {
        const weights = r.changes.map((c) => c.canary);
        for (const w of [10, 20, 30, 40, 50]) ok(weights.includes(w), `${r.ns}: the split went through ${w} % (saw ${weights.join(', ')})`);
        equal(weights.at(-1), 0, 'after promotion all traffic is on the primary again');
        const failed = r.samples.filter(([, status]) => status !== 200);
        deepStrictEqual(failed.slice(0, 5), [], `${r.ns}: ${failed.length} of ${r.samples.length} requests failed during the rollout`);
        const shares = sharesPerWeight(r.changes, r.samples, (h) => isCanaryPod(h, 'podinfo'));
        t.diagnostic(`${r.ns}: ${r.samples.length} requests, ${failed.length} failed; canary share per weight: ${shares.map((s) => `${s.canaryWeight}% → ${((100 * s.toCanary) / s.requests).toFixed(1)}% of ${s.requests}`).join(', ')}`);
        for (const s of shares) ok(s.ok, `${r.ns}: at ${s.canaryWeight} % the canary answered ${s.toCanary} of ${s.requests} (σ ${s.sigma.toFixed(3)})`);
        ok(shares.filter((s) => s.canaryWeight > 0).length >= 4, `${r.ns}: most steps were long enough to judge: ${JSON.stringify(shares)}`);
        const primary = (await api('GET', `/apis/apps/v1/namespaces/${r.ns}/deployments/podinfo-primary`)).body as { spec: { template: { spec: { containers: { env?: { name: string; value: string }[] }[] } } } };
        ok(primary.spec.template.spec.containers[0]?.env?.some((e) => e.name === 'PODINFO_UI_MESSAGE' && e.value === 'v2'), 'the primary runs the promoted version');
      }
    });

    // Flagger's analysis intervals set the pace: the v1alpha2 canary's blue/green runs while the
    // other two roll back (each rollout is its own namespace and Flagger).
    describe('after the promotion, at once: a rollback and blue/green', { concurrency: true }, () => {
      const blueGreen: Version = 'v1alpha2';
      const rollbacks = () => rollouts.filter((r) => r.version !== blueGreen);
      test('a version answering only 500s is rolled back on the success rate, measured as 0 (not "no values"), and traffic returns to the primary (v1alpha1, v1alpha3)', async () => {
        await Promise.all(rollbacks().map(async (r) => {
          await restart(r);
          const from = Date.now();
          const patched = await real.cluster.kubectl(['-n', r.ns, 'set', 'env', 'deployment/podinfo', 'PODINFO_UI_MESSAGE=v3', 'STANDIN_FAILURE=1']);
          equal(patched.status, 0, patched.stderr);
          await followCanary(r, 'Failed', 300_000);
          const failedAt = Date.now();
          r.failing = { from, to: failedAt };
          await new Promise((res) => setTimeout(res, 4000));
          r.samples.push(...await (await fetch(`http://${r.client}:8080/results`)).json() as Sample[]);
          const afterRollback = r.samples.filter(([t]) => t > failedAt + 1000);
          ok(afterRollback.length > 20, 'the client kept sending');
          deepStrictEqual(afterRollback.filter(([, status, host]) => status !== 200 || isCanaryPod(host, 'podinfo')).slice(0, 5), [], `${r.ns}: after the rollback only the primary answers, and it answers 200`);
          const s = await split(r);
          deepStrictEqual(s.spec?.backends?.map((b) => [b.service, weightOf(b.weight)]), [['podinfo-canary', 0], ['podinfo-primary', 100]]);
        }));
        for (const r of rollbacks()) {
          const log = r.flagger.output();
          ok(log.includes(`Halt podinfo.${r.ns} advancement success-rate 0.00 < 99`), `${r.ns}: Flagger measured a 0 % success rate\n${log.slice(-3000)}`);
          ok(!log.includes('no values found for custom metric: success-rate'), `${r.ns}: the success-rate template always yields a value`);
        }
      });

      test('blue/green (iterations, no weights) for smi:v1alpha2: the apex stays on the primary while the canary is tested directly, then the new version is promoted', async () => {
        const r = rollouts.find((x) => x.version === blueGreen) as Rollout;
        // Blue/green analysis reads the canary's own metrics: a second client calls podinfo-canary directly.
        await startLoad(real, r.ns, 'load-canary', `http://podinfo-canary.${r.ns}:9898/`);
        const patched = await real.cluster.kubectl(['-n', r.ns, 'patch', 'canary', 'podinfo', '--type=merge', '-p', JSON.stringify({ spec: { analysis: { iterations: 3, stepWeight: null, maxWeight: null } } })]);
        equal(patched.status, 0, patched.stderr);
        await restart(r);
        const changed = await real.cluster.kubectl(['-n', r.ns, 'set', 'env', 'deployment/podinfo', 'PODINFO_UI_MESSAGE=v4', 'STANDIN_FAILURE-']);
        equal(changed.status, 0, changed.stderr);
        await followCanary(r, 'Succeeded', 300_000);
        const weights = r.changes.map((c) => c.canary);
        ok(weights.every((w) => w === 0 || w === 100), `blue/green moves all or nothing: ${weights.join(', ')}`);
        const failed = r.samples.filter(([, status]) => status !== 200);
        deepStrictEqual(failed.slice(0, 5), [], `${failed.length} of ${r.samples.length} requests to the apex failed`);
        for (const s of sharesPerWeight(r.changes, r.samples, (h) => isCanaryPod(h, 'podinfo'))) ok(s.ok, `at ${s.canaryWeight} % the canary answered ${s.toCanary} of ${s.requests}`);
        const log = r.flagger.output();
        ok(/Advance podinfo\.flagger-v1alpha2 canary iteration 3\/3/.test(log), `the iterations ran\n${log.slice(-3000)}`);
      });
    });

    test('Flagger never had to reset a TrafficSplit\'s spec, and no write of it was refused', () => {
      for (const r of rollouts) {
        const log = r.flagger.output();
        ok(!log.includes(`TrafficSplit podinfo.${r.ns} updated`), `${r.ns}: Flagger found the spec it wrote changed and reset it`);
        const refused = log.split('\n').filter((l) => /TrafficSplit .* (create|update) error/.test(l) && !l.includes('the object has been modified'));
        deepStrictEqual(refused, [], `${r.ns}: writes refused`);
      }
    });

    test('an A/B Canary over SMI (which Flagger routes 100 % to the canary) gets a Warning Event on its TrafficSplit and a ! line in skiff check', async () => {
      const r = rollouts[2] as Rollout;
      const patched = await real.cluster.kubectl(['-n', r.ns, 'patch', 'canary', 'podinfo', '--type=merge', '-p', JSON.stringify({ spec: { analysis: { iterations: 5, stepWeight: null, maxWeight: null, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] } } })]);
      equal(patched.status, 0, patched.stderr);
      const event = await waitFor('the FlaggerABOverSMI Event', async () => {
        const events = (await api('GET', `/api/v1/namespaces/${r.ns}/events?fieldSelector=${encodeURIComponent('reason=FlaggerABOverSMI')}`)).body as { items: { type: string; message: string; involvedObject: { kind: string; name: string } }[] };
        return events.items[0];
      }, 60_000, 1000);
      equal(event.type, 'Warning');
      deepStrictEqual([event.involvedObject.kind, event.involvedObject.name], ['TrafficSplit', 'podinfo']);
      ok(event.message.includes('100 % of podinfo to podinfo-canary'), event.message);
      const kc = new KubeConfig();
      kc.loadFromFile(real.cluster.kubeconfigPath);
      const lines = (await runChecks({ kubeconfig: kc, namespace: 'skiff-system', pre: false }, () => undefined)).map(formatResult);
      const line = lines.find((l) => l.includes('Flagger canaries usable over SMI'));
      ok(line?.startsWith(`! Flagger canaries usable over SMI: Flagger Canary ${r.ns}/podinfo is an A/B canary`), lines.join('\n'));
    });

    test('the success-rate template, asked of Prometheus directly, is 0 for a canary that answered only 500s', async () => {
      const template = parseAllDocuments(readFileSync(join(ROOT, 'examples', 'flagger', 'metric-templates.yaml'), 'utf8')).map((d) => d.toJS() as { metadata: { name: string }; spec: { query: string } }).find((t) => t.metadata.name === 'skiff-success-rate');
      ok(template);
      const r = rollouts[0] as Rollout;
      ok(r.failing, 'the rollback ran');
      // Over the failing version's run only (the window ends when the Canary was Failed).
      const seconds = Math.ceil((r.failing.to - r.failing.from) / 1000);
      const query = template.spec.query.replaceAll('{{ namespace }}', r.ns).replaceAll('{{ target }}', 'podinfo').replaceAll('{{ interval }}', `${seconds}s`);
      equal(await promQuery(prometheus.url, query, r.failing.to), 0, 'the failing canary\'s success rate is 0 %');
      // The numerator matching no series at all (as when every answer is a 5xx) gives 0, not an empty result.
      equal(await promQuery(prometheus.url, query.replace('status_code!~"5.."', 'status_code!~".*"'), r.failing.to), 0);
    });
  });
}
