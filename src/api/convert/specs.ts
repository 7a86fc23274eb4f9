/** HTTPRouteGroup, TCPRoute and UDPRoute to and from the hub. */
import type { HubHeader, HubHTTPRouteGroupSpec, HubHttpMatch, HubPortRouteSpec, Preserved } from '../types/hub.ts';
import { without } from './preserve.ts';
import { ConversionError, clone, obj, put, type Json, type KindConverter } from './types.ts';

const topLevelMatches = (version: string) => version === 'v1alpha1' || version === 'v1alpha2';
const hasHeaders = (version: string) => version !== 'v1alpha1';

function readHeaders(headers: unknown): { pairs: HubHeader[]; form: 'map' | 'list' } {
  if (Array.isArray(headers)) {
    return {
      form: 'list',
      pairs: headers.map((entry) => {
        const [name, value] = Object.entries(obj(entry))[0] ?? [];
        if (typeof name !== 'string' || typeof value !== 'string') throw new ConversionError('headers list items must be single-key maps of strings');
        return { name, value };
      }),
    };
  }
  return { form: 'map', pairs: Object.entries(obj(headers)).map(([name, value]) => ({ name, value: String(value) })) };
}

function writeHeaders(pairs: HubHeader[], form: 'map' | 'list' | undefined): unknown {
  const names = new Set(pairs.map((p) => p.name));
  if (form === 'list' || names.size !== pairs.length) return pairs.map((p) => ({ [p.name]: p.value }));
  return Object.fromEntries(pairs.map((p) => [p.name, p.value]));
}

export const httpRouteGroupConverter: KindConverter<HubHTTPRouteGroupSpec> = {
  read(raw, version, payload) {
    const rawMatches = topLevelMatches(version) ? raw.matches : obj(raw.spec).matches;
    const hints: Preserved = { ...payload.hints };
    const lostHeaders = obj(payload.lost?.headers);
    const forms: Record<string, 'map' | 'list'> = { ...hints.headersForms };
    const spec: HubHTTPRouteGroupSpec = {};
    if (Array.isArray(rawMatches)) {
      spec.matches = rawMatches.map((entry) => {
        const m = obj(entry);
        const match: HubHttpMatch = { name: String(m.name) };
        put(match, 'pathRegex', m.pathRegex);
        put(match, 'methods', m.methods);
        if (hasHeaders(version)) {
          if (m.headers !== undefined) {
            const { pairs, form } = readHeaders(m.headers);
            match.headers = pairs;
            if (form === 'list') forms[match.name] = form;
            else delete forms[match.name];
          }
        } else if (Array.isArray(lostHeaders[match.name])) {
          match.headers = clone(lostHeaders[match.name] as HubHeader[]);
        }
        return match;
      });
    }
    if (Object.keys(forms).length > 0) hints.headersForms = forms;
    else delete hints.headersForms;
    return { spec, hints };
  },

  write(spec, hints, version) {
    const lost: Json = {};
    const lostHeaders: Json = {};
    const matches = spec.matches?.map((match) => {
      const out: Json = { name: match.name };
      put(out, 'pathRegex', match.pathRegex);
      put(out, 'methods', match.methods);
      if (match.headers !== undefined) {
        if (hasHeaders(version)) out.headers = writeHeaders(match.headers, hints?.headersForms?.[match.name]);
        else lostHeaders[match.name] = clone(match.headers);
      }
      return out;
    });
    if (Object.keys(lostHeaders).length > 0) lost.headers = lostHeaders;
    const fields: Json = topLevelMatches(version) ? put({}, 'matches', matches) : { spec: put({}, 'matches', matches) };
    return { fields, lost, hints: hasHeaders(version) ? without(hints, ['headersForms']) : without(hints, []) };
  },
};

function readPortMatches(value: unknown): HubPortRouteSpec['matches'] {
  return value === undefined ? undefined : clone(value as HubPortRouteSpec['matches']);
}

/** TCPRoute has no fields before v1alpha3, an empty spec in v1alpha3 and ports in v1alpha4; UDPRoute is v1alpha4 only. */
export const portRouteConverter: KindConverter<HubPortRouteSpec> = {
  read(raw, version, payload) {
    const hints: Preserved = { ...payload.hints };
    const matches = version === 'v1alpha4' ? readPortMatches(obj(raw.spec).matches) : readPortMatches(payload.lost?.matches);
    if (version === 'v1alpha3') {
      if (raw.spec === undefined) hints.specAbsent = true;
      else delete hints.specAbsent;
    }
    return { spec: put({}, 'matches', matches) as HubPortRouteSpec, hints };
  },

  write(spec, hints, version) {
    if (version === 'v1alpha4') return { fields: { spec: put({}, 'matches', spec.matches) }, lost: {}, hints: without(hints, []) };
    const lost = put({}, 'matches', spec.matches);
    if (version === 'v1alpha3') {
      return { fields: hints?.specAbsent ? {} : { spec: {} }, lost, hints: without(hints, ['specAbsent']) };
    }
    return { fields: {}, lost, hints: without(hints, []) };
  },
};
