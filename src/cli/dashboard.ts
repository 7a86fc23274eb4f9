/** `skiff dashboard`: the live mesh dashboard for a cluster, served on this machine's loopback (src/dashboard/). */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import Fastify from 'fastify';
import { parseDuration } from '../api/index.ts';
import { dashboardFiles } from '../dashboard/assets.ts';
import { clusterDashboardSource } from '../dashboard/cluster-source.ts';
import { DASHBOARD_WINDOW } from '../dashboard/collect.ts';
import { registerDashboard } from '../dashboard/server.ts';
import { CONTROL_NAMESPACE } from '../inject/defaults.ts';

export const DASHBOARD_USAGE = `Usage: skiff dashboard [options]

Serves the live mesh dashboard on http://127.0.0.1:<port>/dashboard/ and opens it: the service
graph with traffic, denials and splits, per workload its proxies, config and certificate.
Read-only, with your kubeconfig's credentials: TrafficMetrics through the API server (RBAC on
metrics.smi-spec.io), the controller's state through a port-forward (pods/portforward in the
control plane's namespace), TrafficSplit statuses (RBAC on split.smi-spec.io).
(In local mode \`skiff up\` serves the same dashboard on its status port.)

  --port N            local port (default 15030; 0 picks a free one)
  --window D          the traffic window shown (default ${DASHBOARD_WINDOW}; e.g. 1m)
  --namespace NS      the control plane's namespace (default ${CONTROL_NAMESPACE})
  --kubeconfig FILE   default: $KUBECONFIG or ~/.kube/config
  --no-open           print the address only`;

export async function runDashboard(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, window: { type: 'string' }, namespace: { type: 'string' }, kubeconfig: { type: 'string' }, 'no-open': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    out(DASHBOARD_USAGE);
    return 0;
  }
  const window = values.window ?? DASHBOARD_WINDOW;
  if (parseDuration(window) === undefined) {
    process.stderr.write(`skiff dashboard: --window ${window} is not a duration such as 10s or 1m\n`);
    return 2;
  }
  const kc = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  const source = clusterDashboardSource(kc, values.namespace ?? CONTROL_NAMESPACE);
  try {
    await source.state();
  } catch (err) {
    process.stderr.write(`skiff dashboard: ${(err as Error).message}\n`);
    return 1;
  }
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const dashboard = registerDashboard(app, { source, files: await dashboardFiles(), window, log: (line) => out(line) });
  await app.listen({ host: '127.0.0.1', port: Number(values.port ?? 15030) });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/dashboard/`;
  out(`skiff dashboard: ${url} (Ctrl-C stops it)`);
  if (!values['no-open']) {
    // The desktop's browser when there is one; the address above otherwise.
    const opener = spawn(process.platform === 'darwin' ? 'open' : 'xdg-open', [url], { stdio: 'ignore', detached: true });
    opener.on('error', () => undefined);
    opener.unref();
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  dashboard.close();
  await app.close();
  return 0;
}
