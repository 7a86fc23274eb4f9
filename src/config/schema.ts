/** Validation of a received ProxyConfig (ajv over the TypeBox schema), then of every regex in it. */
import { Ajv, type ValidateFunction } from 'ajv';
import { compileFullMatch } from '../lib/regex.ts';
import { ProxyConfigSchema, type HttpMatch, type ProxyConfig } from './types.ts';

/** The JSON Schema of ProxyConfig: the same definition the TypeScript types come from (types.ts). */
export const proxyConfigJsonSchema = ProxyConfigSchema;

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
  for (const s of config.outbound.services) {
    for (const p of s.ports) {
      for (const r of p.routes) {
        check(`/outbound/services/${s.namespace}/${s.name}/${p.port}/${r.name}`, r.match);
        check(`/outbound/services/${s.namespace}/${s.name}/${p.port}/${r.name} (require)`, r.require);
      }
    }
  }
  return problems;
}

/** Checks a decoded config: its schema, then that every regex compiles. Problems are readable. */
export function checkProxyConfig(value: unknown): { ok: true; config: ProxyConfig } | { ok: false; problems: string[] } {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(proxyConfigJsonSchema);
  if (!validator(value)) return { ok: false, problems: (validator.errors ?? []).slice(0, 20).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`) };
  const problems = regexProblems(value as ProxyConfig);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: value as ProxyConfig };
}
