/** Reading Kubernetes objects defensively: whatever a member holds, the reader gets the type it asks for. */
export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
export const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
export const strings = (v: unknown): Record<string, string> => Object.fromEntries(Object.entries(obj(v)).filter((e): e is [string, string] => typeof e[1] === 'string'));
