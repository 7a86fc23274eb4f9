/**
 * `npm run conformance -- [--kubeconfig FILE] [--profile skiff] [--scenario NAME]… [--image IMAGE] [--parallel N] [--json]`
 * `npm run conformance -- --local [--subnet N] [--scenario NAME]… [--json]` (pods on 127.N.x.y)
 * Runs the SMI conformance scenarios against the cluster of the kubeconfig, or with `--local`
 * against Skiff's local mode (`skiff up` on a fresh folder, profile `skiff-local`), and prints
 * the report (or JSON). Exit 0 when every scenario run passed every step. Each scenario has a
 * namespace of its own, so `--parallel N` runs up to N of them at once (default 1); the report
 * keeps the scenarios' order.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { Cluster } from './cluster.ts';
import { LocalMesh } from './local.ts';
import { renderReport, runScenario, type ScenarioResult } from './run.ts';
import { CONFORMANCE_DIR, loadProfile, loadScenario } from './scenario.ts';
import type { MeshTarget } from './target.ts';

export const DEFAULT_APP_IMAGE = 'docker.io/library/node:24-alpine';

export async function runConformance(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { kubeconfig: { type: 'string' }, local: { type: 'boolean' }, profile: { type: 'string' }, scenario: { type: 'string', multiple: true }, image: { type: 'string' }, json: { type: 'boolean' }, 'step-timeout': { type: 'string' }, parallel: { type: 'string' }, verbose: { type: 'boolean' }, subnet: { type: 'string' } },
  });
  const profile = loadProfile(values.profile ?? (values.local ? 'skiff-local' : 'skiff'));
  const dir = join(CONFORMANCE_DIR, 'scenarios');
  const scenarios = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => loadScenario(join(dir, f)))
    .filter((s) => !values.scenario?.length || values.scenario.includes(s.name));
  const log = values.json ? (line: string) => process.stderr.write(`${line}\n`) : out;
  const parallel = Number(values.parallel ?? 1);
  if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`--parallel: a whole number of scenarios at once, at least 1 (got ${values.parallel})`);
  let target: MeshTarget;
  let local: LocalMesh | undefined;
  if (values.local) {
    target = local = await LocalMesh.start({ ...(values.verbose ? { log } : {}), ...(values.subnet !== undefined ? { subnet: Number(values.subnet) } : {}) });
  } else {
    const kc = new KubeConfig();
    if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
    else kc.loadFromDefault();
    target = new Cluster(kc);
  }
  const results: ScenarioResult[] = new Array<ScenarioResult>(scenarios.length);
  const options = { target, profile, image: values.image ?? DEFAULT_APP_IMAGE, log, ...(values['step-timeout'] ? { stepTimeoutMs: Number(values['step-timeout']) * 1000 } : {}) };
  let next = 0;
  const worker = async () => {
    while (next < scenarios.length) {
      const i = next++;
      results[i] = await runScenario(scenarios[i] as (typeof scenarios)[number], options);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, scenarios.length) }, worker));
  } finally {
    await local?.stop();
  }
  if (values.json) out(JSON.stringify({ profile: profile.name, results }, null, 2));
  else for (const line of ['', ...renderReport(results)]) out(line);
  return results.every((r) => r.capability === 'FULL' || r.capability === 'NOT CLAIMED') ? 0 : 1;
}

if (import.meta.main) {
  runConformance(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then((code) => process.exit(code), (err: Error) => {
    process.stderr.write(`conformance: ${err.message}\n`);
    process.exit(2);
  });
}
