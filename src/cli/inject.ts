/** `skiff inject`: sidecar injection on YAML files, offline (for manifests kept in git). */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultInjectSettings } from '../inject/defaults.ts';
import { injectManifests } from '../inject/manifests.ts';
import { parseProxyUid } from '../inject/settings.ts';

export const INJECT_USAGE = `Usage: skiff inject -f FILE [-f FILE…] [options]

Prints the YAML with every pod template (Pods, Deployments, StatefulSets, DaemonSets,
ReplicaSets, Jobs, CronJobs, Lists) injected exactly as the controller's webhook injects it;
other documents pass through unchanged. "-f -" reads standard input. Pods that set
skiff.dev/inject: disabled, and pods already injected, are left alone. A summary goes to
standard error.

  --image IMAGE            the Skiff image (default ${defaultInjectSettings().image})
  --control-namespace NS   where the controller runs (default skiff-system)
  --proxy-uid UID          the proxy's user id (default ${defaultInjectSettings().proxyUid})
Exit status: 0 when done, 1 when a pod's annotations cannot be used, 2 on usage errors.`;

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runInject(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { file: { type: 'string', short: 'f', multiple: true }, image: { type: 'string' }, 'control-namespace': { type: 'string' }, 'proxy-uid': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || !values.file?.length) {
    out(INJECT_USAGE);
    return values.help ? 0 : 2;
  }
  const uid = values['proxy-uid'] === undefined ? undefined : parseProxyUid(values['proxy-uid']);
  const settings = defaultInjectSettings({
    ...(values.image ? { image: values.image } : {}), ...(values['control-namespace'] ? { controlNamespace: values['control-namespace'] } : {}), ...(uid !== undefined ? { proxyUid: uid } : {}),
  });
  let failed = false;
  const texts: string[] = [];
  for (const file of values.file) {
    const result = injectManifests(await readInput(file), settings);
    texts.push(result.text);
    for (const r of result.reports) process.stderr.write(`${r.injected ? 'injected' : 'skipped '} ${r.object}${r.reason ? ` (${r.reason})` : ''}\n`);
    for (const e of result.errors) process.stderr.write(`error: ${file}: ${e}\n`);
    failed ||= result.errors.length > 0;
  }
  out(texts.join('---\n').trimEnd());
  return failed ? 1 : 0;
}
