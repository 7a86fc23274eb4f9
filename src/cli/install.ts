/** `skiff install` / `skiff uninstall`: the install manifests for `kubectl apply -f -` / `kubectl delete -f -` (see src/install/). */
import { parseArgs } from 'node:util';
import { formatIssue } from '../errors/issue.ts';
import { installManifests, renderManifests, uninstallManifests } from '../install/manifests.ts';
import { DEFAULT_INSTALL, readInstallFlags, type InstallOptions } from '../install/options.ts';

const FLAGS = `  --namespace NS           the control plane's namespace (default ${DEFAULT_INSTALL.namespace})
  --image IMAGE            the controller's and the injected sidecars' image (default ${DEFAULT_INSTALL.image})
  --replicas N             controller replicas, 1 to 10 (default ${DEFAULT_INSTALL.replicas}; one leader writes status)
  --trust-domain DOMAIN    the SPIFFE trust domain of workload certificates (default ${DEFAULT_INSTALL.trustDomain})
  --cluster-domain DOMAIN  the cluster's DNS domain (default ${DEFAULT_INSTALL.clusterDomain})
  --default-access MODE    strict or permissive for namespaces that do not say (default ${DEFAULT_INSTALL.defaultAccessMode})`;

export const INSTALL_USAGE = `Usage: skiff install [options] | kubectl apply -f -

Prints the manifests that install Skiff: the SMI CRDs, the control plane's namespace, RBAC,
mesh settings, the controller Deployment and Service, and its admission webhooks. deploy/ holds
the same output with the defaults (kubectl apply -k deploy/). Then run \`skiff check\`.

${FLAGS}
Exit status: 0 when printed, 1 when a flag's value cannot be used (nothing is printed).`;

export const UNINSTALL_USAGE = `Usage: skiff uninstall [options] | kubectl delete -f -

Prints what \`skiff install\` created, in reverse order (webhooks first, so pod creation never
waits on a controller being deleted). The SMI CRDs go last, and with them every TrafficSplit,
TrafficTarget, route group and TrafficPolicy in the cluster: --keep-crds keeps them. Injected
pods keep their sidecars until they are re-created; the trust bundle ConfigMaps the controller
published go with: kubectl delete configmap -A -l app.kubernetes.io/part-of=skiff

  --namespace NS           the control plane's namespace (default ${DEFAULT_INSTALL.namespace})
  --keep-crds              leave the CRDs and the SMI objects in place`;

const INSTALL_OPTIONS = {
  namespace: { type: 'string' }, image: { type: 'string' }, replicas: { type: 'string' }, 'trust-domain': { type: 'string' },
  'cluster-domain': { type: 'string' }, 'default-access': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

function readOptions(values: Parameters<typeof readInstallFlags>[0]): InstallOptions | undefined {
  const { options, issues } = readInstallFlags(values);
  for (const i of issues) process.stderr.write(`skiff: ${formatIssue(i)}\n`);
  return issues.length ? undefined : options;
}

export async function runInstall(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({ args: argv, options: INSTALL_OPTIONS });
  if (values.help) {
    out(INSTALL_USAGE);
    return 0;
  }
  const options = readOptions(values);
  if (!options) return 1;
  out(renderManifests(installManifests(options)).trimEnd());
  return 0;
}

export async function runUninstall(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { namespace: { type: 'string' }, 'keep-crds': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    out(UNINSTALL_USAGE);
    return 0;
  }
  const options = readOptions({ namespace: values.namespace });
  if (!options) return 1;
  out(renderManifests(uninstallManifests(options, values['keep-crds'] ?? false)).trimEnd());
  return 0;
}
