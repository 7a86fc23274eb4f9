/**
 * Linear-time regular expressions for user-supplied patterns (HTTPRouteGroup pathRegex and
 * header values). Skiff never runs a user pattern on V8's backtracking engine: patterns are
 * compiled with RE2 syntax (re2js, the same dialect as Go's regexp used by the SMI SDK), whose
 * matching time is linear in the input, so no pattern can stall a proxy's event loop.
 * Patterns are matched against the whole input (implicitly wrapped in ^(?: … )$).
 */
import { RE2JS } from 're2js';

/** Longest pattern accepted, in characters. */
export const MAX_PATTERN_LENGTH = 1024;
/** Largest compiled RE2 program accepted (instructions); bounds memory and per-byte work. */
export const MAX_PROGRAM_SIZE = 5000;

export interface FullMatcher {
  readonly source: string;
  test(input: string): boolean;
}

export type RegexProblem =
  | { kind: 'too-long'; message: string }
  | { kind: 'syntax'; message: string }
  | { kind: 'too-complex'; message: string };

export type CompileResult = { ok: true; matcher: FullMatcher } | { ok: false; problem: RegexProblem };

const UNSUPPORTED_HINTS: ReadonlyArray<[RegExp, string]> = [
  [/\(\?<?[=!]/, 'lookahead and lookbehind are not supported'],
  [/\\[1-9]/, 'backreferences are not supported'],
  [/\(\?<[A-Za-z]/, 'named groups must be written (?P<name>…)'],
];

/** Compiles `pattern` so that it must match the whole input. Never throws. */
export function compileFullMatch(pattern: string): CompileResult {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, problem: { kind: 'too-long', message: `pattern is ${pattern.length} characters; at most ${MAX_PATTERN_LENGTH} are allowed` } };
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(`^(?:${pattern})$`);
  } catch (err) {
    const hint = UNSUPPORTED_HINTS.find(([re]) => re.test(pattern))?.[1];
    const detail = err instanceof Error ? err.message.replace(/^error parsing regexp: /, '') : String(err);
    const message = `not a valid RE2 regular expression: ${detail}${hint ? ` (${hint}: Skiff matches with a linear-time RE2 engine)` : ''}`;
    return { ok: false, problem: { kind: 'syntax', message } };
  }
  const size = compiled.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    return { ok: false, problem: { kind: 'too-complex', message: `pattern compiles to ${size} instructions; at most ${MAX_PROGRAM_SIZE} are allowed (large counted repetitions such as x{1000} are the usual cause)` } };
  }
  return { ok: true, matcher: { source: pattern, test: (input: string) => compiled.matches(input) } };
}
