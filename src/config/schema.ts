/** JSON Schema of ProxyConfig v1, for the proxy to refuse a malformed config (ajv). */
import { Ajv, type ValidateFunction } from 'ajv';
import { compileFullMatch } from '../lib/regex.ts';
import { PROXY_CONFIG_SCHEMA, type HttpMatch, type ProxyConfig } from './types.ts';

const str = { type: 'string' } as const;
const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const nonNegative = { type: 'integer', minimum: 0 } as const;
const protocol = { enum: ['http', 'tcp'] } as const;
const strings = { type: 'array', items: str } as const;

function closed(properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', properties, required, additionalProperties: false };
}

const httpMatch = closed({
  name: str,
  pathRegex: str,
  methods: strings,
  headers: { type: 'array', items: closed({ name: str, regex: str }, ['name', 'regex']) },
}, ['name']);

const workloadRef = closed({ kind: str, name: str }, ['kind', 'name']);

export const proxyConfigJsonSchema = closed({
  schema: { const: PROXY_CONFIG_SCHEMA },
  hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  mesh: closed({ trustDomain: str, clusterDomain: str }, ['trustDomain', 'clusterDomain']),
  proxy: closed({ id: str, namespace: str, pod: str, serviceAccount: str, identity: str, workload: workloadRef }, ['id', 'namespace', 'pod', 'serviceAccount', 'identity', 'workload']),
  inbound: closed({
    accessMode: { enum: ['permissive', 'strict'] },
    ports: { type: 'array', items: closed({ port, protocol, services: strings }, ['port', 'protocol', 'services']) },
    rules: {
      type: 'array',
      items: closed({ via: str, sources: strings, ports: { type: 'array', items: port }, protocols: { type: 'array', items: protocol }, http: { type: 'array', items: httpMatch } }, ['via', 'sources', 'protocols']),
    },
    rateLimit: closed({ requestsPerSecond: { type: 'number', exclusiveMinimum: 0 }, burst: { type: 'integer', minimum: 1 } }, ['requestsPerSecond', 'burst']),
  }, ['accessMode', 'ports', 'rules']),
  outbound: closed({
    services: {
      type: 'array',
      items: closed({
        namespace: str, name: str, clusterIP: str,
        ports: {
          type: 'array',
          items: closed({
            port, protocol,
            routes: {
              type: 'array',
              items: closed({
                name: str, split: str,
                match: { type: 'array', items: httpMatch },
                backends: { type: 'array', items: closed({ cluster: str, weight: nonNegative }, ['cluster', 'weight']) },
              }, ['name', 'backends']),
            },
          }, ['port', 'protocol', 'routes']),
        },
      }, ['namespace', 'name', 'ports']),
    },
    clusters: {
      type: 'array',
      items: closed({
        name: str, service: str, port, protocol,
        endpoints: {
          type: 'array',
          items: closed({ address: str, port, pod: str, identity: str, meshPort: port, workload: closed({ kind: str, name: str, namespace: str }, ['kind', 'name', 'namespace']) }, ['address', 'port', 'pod']),
        },
      }, ['name', 'service', 'port', 'protocol', 'endpoints']),
    },
    defaults: closed({
      timeoutMs: nonNegative, perTryTimeoutMs: nonNegative, connectTimeoutMs: nonNegative,
      retry: closed({ attempts: nonNegative, budgetPercent: nonNegative, minPerSecond: nonNegative }, ['attempts', 'budgetPercent', 'minPerSecond']),
      circuitBreaker: closed({ maxConnections: nonNegative, maxPendingRequests: nonNegative, maxRequests: nonNegative }, ['maxConnections', 'maxPendingRequests', 'maxRequests']),
      outlierDetection: closed({ consecutiveGatewayErrors: nonNegative, baseEjectionMs: nonNegative, maxEjectionPercent: { type: 'integer', minimum: 0, maximum: 100 } }, ['consecutiveGatewayErrors', 'baseEjectionMs', 'maxEjectionPercent']),
      fault: closed({ delayMs: nonNegative, delayPercent: { type: 'number', minimum: 0, maximum: 100 }, abortStatus: { type: 'integer', minimum: 200, maximum: 599 }, abortPercent: { type: 'number', minimum: 0, maximum: 100 } }, []),
    }, ['timeoutMs', 'perTryTimeoutMs', 'connectTimeoutMs', 'retry', 'circuitBreaker', 'outlierDetection']),
  }, ['services', 'clusters', 'defaults']),
}, ['schema', 'hash', 'mesh', 'proxy', 'inbound', 'outbound']);

let validator: ValidateFunction | undefined;

function regexProblems(config: ProxyConfig): string[] {
  const problems: string[] = [];
  const check = (where: string, matches: readonly HttpMatch[] | undefined) => {
    for (const m of matches ?? []) {
      for (const [field, pattern] of [['pathRegex', m.pathRegex], ...(m.headers ?? []).map((h) => [`header ${h.name}`, h.regex])] as [string, string | undefined][]) {
        if (pattern === undefined) continue;
        const compiled = compileFullMatch(pattern);
        if (!compiled.ok) problems.push(`${where} match ${m.name} ${field}: ${compiled.problem.message}`);
      }
    }
  };
  config.inbound.rules.forEach((r, i) => check(`/inbound/rules/${i}`, r.http));
  for (const s of config.outbound.services) for (const p of s.ports) p.routes.forEach((r) => check(`/outbound/services/${s.namespace}/${s.name}/${p.port}/${r.name}`, r.match));
  return problems;
}

/** Checks a decoded config: its schema, then that every regex compiles. Problems are readable. */
export function checkProxyConfig(value: unknown): { ok: true; config: ProxyConfig } | { ok: false; problems: string[] } {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(proxyConfigJsonSchema);
  if (!validator(value)) return { ok: false, problems: (validator.errors ?? []).slice(0, 20).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`) };
  const problems = regexProblems(value as ProxyConfig);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: value as ProxyConfig };
}
