/** `skiff explain`: what the mesh does with a folder of YAML, or one request's fate. */
import { parseArgs } from 'node:util';
import type { RequestFacts } from '../config/index.ts';
import { formatIssue } from '../errors/issue.ts';
import { buildTopology } from '../model/index.ts';
import { readYamlInputs } from '../sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../sources/files/snapshot.ts';
import { describeClusterPolicy, describeRoutePolicy, explain, explainRequest, type Explanation, type QueryAnswer } from '../translate/index.ts';
import { formatFileIssue } from './validate.ts';

export const EXPLAIN_USAGE = `Usage: skiff explain [--json] <file|dir>...
       skiff explain <file|dir>... --from <namespace>/<serviceaccount> --to <host[:port]> [METHOD [PATH]] [-H 'name: value']...

Without --from: for every service, who may call it on which routes and ports and why
(which TrafficTarget), what each TrafficSplit resolves to (backends, shares, excluded
backends and why), and every error and warning.

With --from and --to: whether that identity may send that request (default GET /) to
that host, which route and split it takes, and which rule allows or denies it.
Exit status: 0, or 1 when the asked request is denied.`;

function percent(n: number): string {
  return `${Number.isInteger(n) ? n : n.toFixed(2)}%`;
}

export function renderExplanation(e: Explanation): string[] {
  const lines: string[] = [];
  for (const d of e.destinations) {
    const ports = d.ports.map((p) => `${p.port}/${p.protocol}${p.targetPort !== p.port ? `→${p.targetPort}` : ''}`).join(', ');
    lines.push(`Service ${d.service} (${ports || 'no ports'}), access ${d.accessMode}`);
    const identities = [...new Set(d.pods.map((p) => p.identity))];
    lines.push(`  pods: ${d.pods.length === 0 ? 'none' : d.pods.map((p) => `${p.pod.split('/')[1]}${p.meshed ? '' : ' (no sidecar)'}`).join(', ')}${identities.length ? `; identity ${identities.join(', ')}` : ''}`);
    if (d.accessMode === 'permissive') lines.push('  callers: anyone (permissive namespace)');
    else if (d.callers.length === 0) lines.push('  callers: nobody (no TrafficTarget names these identities)');
    else {
      lines.push('  callers:');
      for (const c of d.callers) {
        const routes = c.routes === 'all' ? 'any request' : `routes ${c.routes.join(', ')}`;
        const ports = c.ports === 'all' ? 'any port' : c.ports.length === 0 ? 'no port' : `ports ${c.ports.join(', ')}`;
        lines.push(`    ${c.source}: ${routes}, ${ports} (${c.protocols.join('+')}) via TrafficTarget ${c.via}`);
      }
    }
    if (d.split) lines.push(`  split by TrafficSplit ${d.split}`);
    if (d.policies.length > 0) lines.push(`  policies: ${d.policies.join('; ')}`);
  }
  for (const s of e.splits) {
    lines.push(`TrafficSplit ${s.split} (${s.sourceVersion})${s.active ? '' : ' — NOT APPLIED, see problems'}`);
    if (s.root) lines.push(`  root: ${s.root}${s.matches ? `, only requests matching ${s.matches.join(' or ')} (others go to the root)` : ''}`);
    for (const p of s.ports) {
      lines.push(`  port ${p.port}: ${p.backends.map((b) => `${b.service.split('/')[1]} ${b.weight} (${b.excluded ? `excluded: ${b.excluded}` : percent(b.percent)})`).join(', ')}`);
    }
  }
  lines.push(e.issues.length === 0 ? 'No problems.' : `Problems (${e.issues.length}):`);
  for (const i of e.issues) lines.push(`  ${formatIssue(i)}`);
  return lines;
}

export function renderAnswer(a: QueryAnswer, from: string): string[] {
  const lines = [`${a.allowed ? 'ALLOWED' : 'DENIED'}: ${from} → ${a.host}: ${a.reason}`];
  if (a.service) lines.push(`  service ${a.service} port ${a.port}, route ${a.route ?? 'none'}${a.split ? ` (TrafficSplit ${a.split})` : ''}`);
  if (a.policy) lines.push(`  policy${a.policy.policyRoute ? ` (route ${a.policy.policyRoute})` : ''}: ${describeRoutePolicy(a.policy.route)}`);
  for (const b of a.backends) {
    lines.push(`  ${b.cluster} ${percent(b.percent)}`);
    const limits = a.policy?.clusters[b.cluster];
    if (limits && Object.keys(limits.from).length > 0) lines.push(`    limits: ${describeClusterPolicy(limits)}`);
    for (const p of b.pods) lines.push(`    ${p.pod}: ${p.decision.allowed ? 'allowed' : 'denied'}, ${p.decision.reason}`);
  }
  return lines;
}

function requestFrom(method: string, path: string, headers: string[]): RequestFacts {
  const map = new Map<string, string>();
  for (const h of headers) {
    const colon = h.indexOf(':');
    if (colon > 0) {
      const name = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      map.set(name, map.has(name) ? `${map.get(name)}, ${value}` : value);
    }
  }
  const [pathOnly = '/'] = path.split('?');
  return { method: method.toUpperCase(), path: pathOnly, header: (name) => map.get(name) };
}

export async function runExplain(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { json: { type: 'boolean' }, from: { type: 'string' }, to: { type: 'string' }, header: { type: 'string', short: 'H', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    out(EXPLAIN_USAGE);
    return 0;
  }
  const args = [...positionals];
  let method = 'GET';
  let path = '/';
  if (values.from !== undefined) {
    if (values.to === undefined) {
      out(EXPLAIN_USAGE);
      return 2;
    }
    const isMethod = (word: string | undefined) => word !== undefined && /^[A-Z]+$/.test(word);
    if (isMethod(args.at(-2)) && args.at(-1)?.startsWith('/')) {
      path = args.pop() as string;
      method = args.pop() as string;
    } else if (isMethod(args.at(-1))) {
      method = args.pop() as string;
    }
  }
  const inputs = await readYamlInputs(args.length > 0 ? args : ['.']);
  for (const i of inputs.issues) out(formatFileIssue(i));
  const topology = buildTopology(snapshotFromDocuments(inputs.documents.map((d) => d.value)));
  if (values.from !== undefined && values.to !== undefined) {
    const answer = explainRequest(topology, values.from, values.to, requestFrom(method, path, values.header ?? []));
    if (values.json) out(JSON.stringify(answer, null, 2));
    else for (const line of renderAnswer(answer, `${values.from} ${method} ${path}`)) out(line);
    return answer.allowed ? 0 : 1;
  }
  const explanation = explain(topology);
  if (values.json) out(JSON.stringify(explanation, null, 2));
  else for (const line of renderExplanation(explanation)) out(line);
  return 0;
}
