/**
 * check: `skiff check`, Skiff's install doctor. evaluate.ts judges what was read (pure, unit
 * tested); cluster.ts reads it from the API server (and the controller's status through a
 * port-forward); the CLI prints one ✔/✘ line per check with a hint for each ✘.
 */
export interface CheckResult {
  /** What was checked, e.g. "CRDs installed, every version served". */
  name: string;
  ok: boolean;
  /** What was found: "v1.36.3", "2 of 2 replicas available", a list of what is wrong. */
  detail: string;
  /** For a ✘ or a warning: what to do about it. */
  hint?: string;
  /** Works, but not as users would expect: printed with `!`, does not fail the check. */
  warning?: boolean;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
export const fail = (name: string, detail: string, hint: string): CheckResult => ({ name, ok: false, detail, hint });

export const warn = (name: string, detail: string, hint: string): CheckResult => ({ name, ok: true, warning: true, detail, hint });

export function formatResult(r: CheckResult): string {
  const mark = !r.ok ? '✘' : r.warning ? '!' : '✔';
  return `${mark} ${r.name}: ${r.detail}${(!r.ok || r.warning) && r.hint ? `\n    hint: ${r.hint}` : ''}`;
}
