/**
 * The request path as route rules see it, and as it is forwarded: one normal form, so that
 * `/books/../admin`, `/books/%2e%2e/admin` and `//admin` cannot pass a rule written for
 * `/books/.*` and then reach `/admin` in the application. Shared by the proxy and `skiff explain`.
 *
 * Steps (the same effect as Envoy's `normalize_path` + `merge_slashes`):
 * 1. percent-encoded unreserved characters (A–Z a–z 0–9 - . _ ~) are decoded, other escapes
 *    get upper-case hex; a `%` not followed by two hex digits is refused;
 * 2. encoded `/` and `\` (%2F, %5C) are refused: an application that decodes them before
 *    routing would see segments the rules never saw;
 * 3. runs of `/` become one;
 * 4. `.` and `..` segments are removed (RFC 3986 §5.2.4); `..` never climbs above the root.
 * The query string is kept as it was sent.
 */

export type NormalizedPath = { path: string; query: string } | { problem: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const HEX = /^[0-9A-Fa-f]{2}$/;

function decodeUnreserved(path: string): string | { problem: string } {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i] as string;
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return { problem: `the path has a malformed percent-escape at offset ${i}` };
    const upper = hex.toUpperCase();
    if (upper === '2F' || upper === '5C') return { problem: 'the path contains an encoded slash or backslash (%2F, %5C), which Skiff refuses' };
    const char = String.fromCharCode(parseInt(hex, 16));
    out += UNRESERVED.test(char) ? char : `%${upper}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 §5.2.4 on a path that starts with `/` and has no empty segments. */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string;
    if (s === '.') continue;
    if (s === '..') {
      out.pop();
      continue;
    }
    out.push(s);
  }
  const last = segments[segments.length - 1];
  // `/a/b/..` and `/a/.` name a directory: keep the trailing slash.
  const trailing = last === '.' || last === '..' ? '/' : '';
  const joined = `/${out.join('/')}`;
  return trailing && !joined.endsWith('/') ? `${joined}/` : joined;
}

/** Splits a request target (origin-form) into its normal path and query, or a problem. */
export function normalizeRequestTarget(target: string): NormalizedPath {
  // Asterisk-form (`OPTIONS *`) addresses the server itself, not a resource: nothing to route,
  // and no HTTP client can send it on, so a proxy refuses it.
  if (target === '*') return { problem: 'the asterisk-form request target (OPTIONS *) is not proxied' };
  if (!target.startsWith('/')) return { problem: 'the request target is not a path' };
  if (target.includes('#')) return { problem: 'the request target contains a fragment' };
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  // Most paths have nothing to normalise: no escape, no empty and no dot segment (a dot
  // segment always follows a `/`). They are their own normal form; nothing is rebuilt.
  if (!rawPath.includes('%') && !rawPath.includes('//') && !rawPath.includes('/.')) return { path: rawPath, query };
  const decoded = decodeUnreserved(rawPath);
  if (typeof decoded !== 'string') return decoded;
  const merged = decoded.replace(/\/{2,}/g, '/');
  return { path: removeDotSegments(merged), query };
}
