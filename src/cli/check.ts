/** `skiff check`: is Skiff installable here (--pre), and is the install healthy? (see src/check/) */
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { runChecks } from '../check/cluster.ts';
import { formatResult } from '../check/result.ts';
import { CONTROL_NAMESPACE } from '../inject/defaults.ts';

export const CHECK_USAGE = `Usage: skiff check [--pre] [options]

Checks a Skiff install and prints one line per check, ✔ or ✘ with a hint:
  the API server's version and this machine's clock, the permissions the checks need, the SMI
  CRDs and every version served, the controller Ready and a leader elected, caBundle in every
  webhook configuration and converted CRD, the mesh CA's validity, the conversion, validating
  and injection webhooks answering (through server-side dry runs), every injected proxy
  connected and on its current config, and no pod that asked for a sidecar running without one.
With --pre, before installing: the API server, the clock, the permissions to install, and the
control plane's namespace not taken.

  --pre                 check that Skiff can be installed
  --namespace NS        the control plane's namespace (default ${CONTROL_NAMESPACE})
  --kubeconfig FILE     default: $KUBECONFIG or ~/.kube/config
Exit status: 0 when every check passes, 1 when one fails, 2 on usage errors.`;

export async function runCheck(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { pre: { type: 'boolean' }, namespace: { type: 'string' }, kubeconfig: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    out(CHECK_USAGE);
    return 0;
  }
  const kc = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  const results = await runChecks({ kubeconfig: kc, namespace: values.namespace ?? CONTROL_NAMESPACE, pre: values.pre ?? false }, (r) => out(formatResult(r)));
  const failed = results.filter((r) => !r.ok).length;
  out(failed === 0 ? `\nStatus: all ${results.length} checks passed` : `\nStatus: ${failed} of ${results.length} checks failed`);
  return failed === 0 ? 0 : 1;
}
