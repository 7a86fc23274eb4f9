/** Semantic rules for HTTPRouteGroup, TCPRoute and UDPRoute beyond their schemas. */
import { compileFullMatch } from '../../lib/regex.ts';
import { issue, type Issue, type ObjectRef } from '../../errors/issue.ts';
import { HTTP_METHODS } from '../schemas/index.ts';
import { field, isRecord, list, text } from './common.ts';

/** HTTP field-name token (RFC 9110 §5.1). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Where the HTTPRouteGroup's matches live in each version. */
export function routeGroupMatchesPath(version: string): string {
  return version === 'v1alpha1' || version === 'v1alpha2' ? 'matches' : 'spec.matches';
}

export function routeGroupMatches(raw: unknown, version: string): unknown[] {
  return list(version === 'v1alpha1' || version === 'v1alpha2' ? field(raw, 'matches') : field(field(raw, 'spec'), 'matches'));
}

/** Header pairs from either wire form, or an error message when the shape is wrong. */
export function readHeaders(headers: unknown): { ok: true; pairs: { name: string; value: unknown; path: string }[] } | { ok: false; message: string } {
  if (isRecord(headers)) {
    return { ok: true, pairs: Object.entries(headers).map(([name, value]) => ({ name, value, path: name })) };
  }
  if (Array.isArray(headers)) {
    const pairs: { name: string; value: unknown; path: string }[] = [];
    for (const [i, entry] of headers.entries()) {
      if (!isRecord(entry) || Object.keys(entry).length !== 1) {
        return { ok: false, message: `item [${i}] must be a map with exactly one header name, such as {"user-agent": ".*Firefox.*"}` };
      }
      const [name, value] = Object.entries(entry)[0] as [string, unknown];
      pairs.push({ name, value, path: `[${i}].${name}` });
    }
    return { ok: true, pairs };
  }
  return { ok: false, message: 'must be a map of header name to regex, or a list of single-key maps' };
}

function validateHttpMatch(m: unknown, path: string, object: ObjectRef): Issue[] {
  const out: Issue[] = [];
  const pathRegex = field(m, 'pathRegex');
  if (typeof pathRegex === 'string') {
    const compiled = compileFullMatch(pathRegex);
    if (!compiled.ok) out.push(issue('SKIFF_E_ROUTE_PATH_REGEX', `${path}.pathRegex`, compiled.problem.message, object));
  }
  list(field(m, 'methods')).forEach((method, j) => {
    if (typeof method === 'string' && !(HTTP_METHODS as readonly string[]).includes(method)) {
      const upper = method.toUpperCase();
      const hint = (HTTP_METHODS as readonly string[]).includes(upper) ? ` (write "${upper}": methods are case-sensitive)` : '';
      out.push(issue('SKIFF_E_ROUTE_METHOD', `${path}.methods[${j}]`, `must be one of ${HTTP_METHODS.join(', ')}, got "${method}"${hint}`, object));
    }
  });
  const headers = field(m, 'headers');
  if (headers !== undefined) {
    const read = readHeaders(headers);
    if (!read.ok) {
      out.push(issue('SKIFF_E_ROUTE_HEADERS_SHAPE', `${path}.headers`, read.message, object));
    } else {
      for (const pair of read.pairs) {
        const p = `${path}.headers${pair.path.startsWith('[') ? '' : '.'}${pair.path}`;
        if (!HEADER_NAME.test(pair.name)) out.push(issue('SKIFF_E_ROUTE_HEADER_NAME', p, `"${pair.name}" is not a valid HTTP header name`, object));
        if (typeof pair.value !== 'string') {
          out.push(issue('SKIFF_E_ROUTE_HEADERS_SHAPE', p, `must be a string (a regex for the header value), got ${JSON.stringify(pair.value)}`, object));
          continue;
        }
        const compiled = compileFullMatch(pair.value);
        if (!compiled.ok) out.push(issue('SKIFF_E_ROUTE_HEADER_REGEX', p, compiled.problem.message, object));
      }
    }
  }
  if (field(m, 'pathRegex') === undefined && list(field(m, 'methods')).length === 0 && headers === undefined) {
    out.push(issue('SKIFF_W_ROUTE_EMPTY_MATCH', path, 'has no pathRegex, methods or headers, so it matches every request', object));
  }
  return out;
}

export function validateHTTPRouteGroup(raw: unknown, version: string, object: ObjectRef): Issue[] {
  const out: Issue[] = [];
  const base = routeGroupMatchesPath(version);
  const names = new Map<string, number>();
  routeGroupMatches(raw, version).forEach((m, i) => {
    const path = `${base}[${i}]`;
    const name = text(field(m, 'name'));
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) {
        out.push(issue('SKIFF_E_ROUTE_DUPLICATE_MATCH', `${path}.name`, `"${name}" is already the name of ${base}[${first}]; TrafficTargets refer to matches by name, so names must be unique`, object));
      } else {
        names.set(name, i);
      }
    }
    out.push(...validateHttpMatch(m, path, object));
  });
  return out;
}

export function validatePortRoute(raw: unknown, version: string, object: ObjectRef): Issue[] {
  if (version !== 'v1alpha4') return [];
  const out: Issue[] = [];
  const seen = new Set<unknown>();
  list(field(field(field(raw, 'spec'), 'matches'), 'ports')).forEach((port, i) => {
    const path = `spec.matches.ports[${i}]`;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      out.push(issue('SKIFF_E_ROUTE_PORT', path, `must be a port number from 1 to 65535, got ${JSON.stringify(port)}`, object));
    } else if (seen.has(port)) {
      out.push(issue('SKIFF_E_ROUTE_PORT', path, `port ${port} is listed twice`, object));
    }
    seen.add(port);
  });
  return out;
}
