/**
 * Kubernetes label selectors as written in `?labelSelector=` (and `kubectl -l`): `k=v`,
 * `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist),
 * requirements joined by commas, all of which must hold. Pure; errors are values.
 */

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type Selector = Requirement[];

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Splits on commas outside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

export function parseLabelSelector(text: string): { ok: true; selector: Selector } | { ok: false; problem: string } {
  if (text.length > 4096) return { ok: false, problem: 'the label selector is longer than 4096 characters' };
  if (text.trim() === '') return { ok: true, selector: [] };
  const selector: Selector = [];
  for (const part of splitTop(text)) {
    const set = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
    const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    const exists = /^(!?)\s*([^=!\s(),]+)$/.exec(part);
    let req: Requirement;
    if (set) req = { key: set[1] as string, op: set[2] as 'in' | 'notin', values: (set[3] as string).split(',').map((v) => v.trim()) };
    else if (cmp) req = { key: cmp[1] as string, op: cmp[2] === '!=' ? 'notin' : 'in', values: [cmp[3] as string] };
    else if (exists) req = { key: exists[2] as string, op: exists[1] ? 'notexists' : 'exists' };
    else return { ok: false, problem: `"${part.slice(0, 100)}" is not a label requirement (k=v, k!=v, k in (a,b), k notin (a,b), k, !k)` };
    if (!KEY.test(req.key)) return { ok: false, problem: `"${req.key.slice(0, 100)}" is not a valid label key` };
    if ('values' in req) {
      const bad = req.values.find((v) => !VALUE.test(v));
      if (bad !== undefined) return { ok: false, problem: `"${bad.slice(0, 100)}" is not a valid label value` };
    }
    selector.push(req);
  }
  return { ok: true, selector };
}

export function matchesSelector(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'exists': return has;
      case 'notexists': return !has;
      case 'in': return has && r.values.includes(labels[r.key] as string);
      case 'notin': return !has || !r.values.includes(labels[r.key] as string);
    }
  });
}
