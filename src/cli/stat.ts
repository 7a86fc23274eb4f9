/** `skiff stat`: traffic per resource from the TrafficMetrics API, in a cluster or from `skiff up`. */
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { parseDuration } from '../api/index.ts';
import { kubeRequest } from '../check/kube-request.ts';
import { isResourcePlural, RESOURCE_KINDS, type ResourcePlural } from '../control/traffic/kinds.ts';
import type { TrafficMetrics, TrafficMetricsList } from '../control/traffic/query.ts';
import { API_PREFIX } from '../control/traffic/request.ts';
import { PORTS } from '../lib/ports.ts';
import { renderRows, rowOf } from './stat-view.ts';

export const STAT_USAGE = `Usage: skiff stat <kind>[/<name>] [options]

Success rate, requests per second, latency and denials per resource, from the SMI TrafficMetrics
API (metrics.smi-spec.io/v1alpha1) that the controller serves, or local mode with --local.
Kinds: deploy, pod, svc, ns, node, rs, sts, ds, job, rc, trafficsplit (ts). A TrafficSplit
shows each backend's configured weight and the share of requests it really got.

  -n, --namespace NS       the namespace (default: default)
  -A, --all-namespaces     every namespace
      --from KIND/NAME     only traffic sent by that resource (rows: its destinations)
      --to KIND/NAME       only traffic sent to that resource (rows: its callers)
  -t, --window DURATION    e.g. 30s (the default), 1m, 5m (the most kept)
  -l, --selector LABELS    label selector on the resources
  -o, --output FORMAT      table (default), wide, json
      --kubeconfig FILE    default: $KUBECONFIG or ~/.kube/config
      --local              read a local \`skiff up\` instead (its --debug-port, default ${PORTS.debug})
      --debug-port N

Examples:
  skiff stat deploy -n bookstore
  skiff stat trafficsplit/bookstore -n bookstore
  skiff stat pods --from deploy/buyer -n bookstore -t 1m`;

const ALIASES: Record<string, ResourcePlural> = {
  deploy: 'deployments', deployment: 'deployments', po: 'pods', pod: 'pods', svc: 'services', service: 'services',
  ns: 'namespaces', namespace: 'namespaces', no: 'nodes', node: 'nodes', rs: 'replicasets', replicaset: 'replicasets',
  sts: 'statefulsets', statefulset: 'statefulsets', ds: 'daemonsets', daemonset: 'daemonsets', job: 'jobs',
  rc: 'replicationcontrollers', replicationcontroller: 'replicationcontrollers', ts: 'trafficsplits', trafficsplit: 'trafficsplits',
};

export function resolveKind(text: string): ResourcePlural | undefined {
  const lower = text.toLowerCase();
  return isResourcePlural(lower) ? lower : ALIASES[lower];
}

function parseTarget(text: string): { plural: ResourcePlural; name?: string } | string {
  const [kind, name, ...rest] = text.split('/');
  const plural = resolveKind(kind ?? '');
  if (!plural || rest.length) return `"${text}" is not <kind> or <kind>/<name>; kinds: ${Object.keys(RESOURCE_KINDS).join(', ')}`;
  return { plural, ...(name ? { name } : {}) };
}

export async function runStat(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' }, 'all-namespaces': { type: 'boolean', short: 'A' }, from: { type: 'string' }, to: { type: 'string' },
      window: { type: 'string', short: 't' }, selector: { type: 'string', short: 'l' }, output: { type: 'string', short: 'o' },
      kubeconfig: { type: 'string' }, local: { type: 'boolean' }, 'debug-port': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(STAT_USAGE);
    return 0;
  }
  const fail = (message: string) => {
    process.stderr.write(`skiff stat: ${message}\n`);
    return 2;
  };
  const target = parseTarget(positionals.length === 2 ? `${positionals[0]}/${positionals[1]}` : positionals[0] ?? '');
  if (typeof target === 'string' || positionals.length > 2) return fail(typeof target === 'string' ? target : 'one resource at a time');
  const peer = values.from ?? values.to;
  if (values.from && values.to) return fail('--from and --to together are not supported; use one');
  const other = peer ? parseTarget(peer) : undefined;
  if (typeof other === 'string' || (other && !other.name)) return fail(`--${values.from ? 'from' : 'to'} needs <kind>/<name>`);
  const output = values.output ?? 'table';
  if (!['table', 'wide', 'json'].includes(output)) return fail('-o must be table, wide or json');
  const namespace = values.namespace ?? 'default';
  const scoped = (plural: ResourcePlural) => RESOURCE_KINDS[plural].namespaced && !(values['all-namespaces'] && !other);
  const base = (plural: ResourcePlural) => (scoped(plural) ? `${API_PREFIX}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${API_PREFIX}/${plural}`);
  const query = new URLSearchParams({ ...(values.window ? { t: values.window } : {}), ...(values.selector ? { labelSelector: values.selector } : {}) });
  const path = other
    ? `${base(other.plural)}/${encodeURIComponent(other.name as string)}/edges?${new URLSearchParams({ ...Object.fromEntries(query), edgeKind: target.plural })}`
    : `${base(target.plural)}${target.name ? `/${encodeURIComponent(target.name)}` : ''}?${query}`;

  let status: number;
  let body: unknown;
  try {
    if (values.local) {
      const res = await request(`http://127.0.0.1:${Number(values['debug-port'] ?? PORTS.debug)}${path}`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      status = res.statusCode;
      body = await res.body.json();
    } else {
      const kc = new KubeConfig();
      if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
      else kc.loadFromDefault();
      ({ status, body } = await kubeRequest(kc, 'GET', path));
    }
  } catch (err) {
    process.stderr.write(`skiff stat: ${(err as Error).message}${values.local ? ' (is `skiff up` running?)' : ''}\n`);
    return 1;
  }
  if (status !== 200) {
    process.stderr.write(`skiff stat: ${(body as { message?: string })?.message ?? `the API answered ${status}`}\n`);
    return 1;
  }
  const list: TrafficMetrics[] = (body as TrafficMetricsList).kind === 'TrafficMetricsList' ? (body as TrafficMetricsList).items : [body as TrafficMetrics];
  const kind = RESOURCE_KINDS[target.plural].kind;
  const items = other
    ? list.filter((m) => m.edge?.side === 'client' && m.edge.direction === (values.from ? 'to' : 'from') && m.edge.resource.kind === kind && (!target.name || m.edge.resource.name === target.name))
    : list;
  if (output === 'json') {
    out(JSON.stringify(other ? { ...(body as object), items } : body, null, 2));
    return 0;
  }
  const windowSeconds = (parseDuration(list[0]?.window ?? '') ?? 30_000) / 1000;
  const label = (m: TrafficMetrics) => {
    const r = other ? m.edge?.resource ?? {} : m.resource;
    return values['all-namespaces'] && r.namespace ? `${r.namespace}/${r.name ?? ''}` : r.name ?? '(outside the mesh)';
  };
  for (const line of renderRows(items.map((m) => rowOf(label(m), m)), windowSeconds, output === 'wide')) out(line);
  return 0;
}
