/** Validation of a received ProxyConfig (the precompiled validator of its schema), then of every regex in it. */
import { compileFullMatch } from '../lib/regex.ts';
import type { CertificateResponse, SubscribeAnswer } from './protocol.ts';
import { ProxyConfigSchema, type HttpMatch, type ProxyConfig } from './types.ts';
import * as generated from './validators.generated.ts';

/** The JSON Schema of ProxyConfig: the same definition the TypeScript types come from (types.ts). */
export const proxyConfigJsonSchema = ProxyConfigSchema;

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

interface ValidationError { instancePath: string; message?: string; keyword: string }
interface PrecompiledValidator { (value: unknown): boolean; errors?: ValidationError[] | null }
const { validateProxyConfig, validateCertificateResponse, validateSubscribeAnswer } = generated as unknown as Record<'validateProxyConfig' | 'validateCertificateResponse' | 'validateSubscribeAnswer', PrecompiledValidator>;

/** Checks a decoded config: its schema, then that every regex compiles. Problems are readable. */
export function checkProxyConfig(value: unknown): { ok: true; config: ProxyConfig } | { ok: false; problems: string[] } {
  if (!validateProxyConfig(value)) return { ok: false, problems: (validateProxyConfig.errors ?? []).slice(0, 20).map((e: ValidationError) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`) };
  const problems = regexProblems(value as ProxyConfig);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: value as ProxyConfig };
}

/** The first problem a validator (precompiled or ajv's) found, as `<path> <rule>`. */
export function firstProblem(errors: readonly ValidationError[] | null | undefined): string {
  const e = errors?.[0];
  return `${e?.instancePath || '/'} ${e?.message ?? 'is not valid'}`;
}

type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

function checkWith<T>(validate: PrecompiledValidator, value: unknown): Checked<T> {
  return validate(value) ? { ok: true, value: value as T } : { ok: false, problem: firstProblem(validate.errors) };
}

/** Checks the control plane's answer to a certificate request: the answer, typed, or the first problem. */
export function checkCertificateResponse(value: unknown): Checked<CertificateResponse> {
  return checkWith(validateCertificateResponse, value);
}

/** Checks the control plane's answer to a subscription. */
export function checkSubscribeAnswer(value: unknown): Checked<SubscribeAnswer> {
  return checkWith(validateSubscribeAnswer, value);
}
