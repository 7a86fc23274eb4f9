/** TrafficSplit: v1alpha1 quantities and v1alpha3+ matches to and from the hub. */
import type { RouteReference } from '../types/common.ts';
import type { HubBackend, HubTrafficSplitSpec, Preserved } from '../types/hub.ts';
import { without } from './preserve.ts';
import { formatMilli, parseQuantityMilli } from './quantity.ts';
import { ConversionError, clone, obj, put, type Json, type KindConverter } from './types.ts';

const hasMatches = (version: string) => version === 'v1alpha3' || version === 'v1alpha4';

function readV1alpha1Weights(quantities: (string | number)[]): { weights: number[]; scale: number } {
  const milli = quantities.map((q) => {
    const parsed = parseQuantityMilli(q);
    if (!parsed.ok) throw new ConversionError(`weight ${JSON.stringify(q)}: ${parsed.reason}`);
    return parsed.milli;
  });
  const scale = milli.every((m) => m % 1000n === 0n) ? 1 : 1000;
  return { weights: milli.map((m) => Number(scale === 1 ? m / 1000n : m)), scale };
}

/** The original v1alpha1 spelling, if it still describes these weights. */
function quantitiesFromHints(backends: HubBackend[], hints: Preserved | undefined): (string | number)[] | undefined {
  const quantities = hints?.weightQuantities;
  if (!quantities || quantities.length !== backends.length) return undefined;
  try {
    const { weights, scale } = readV1alpha1Weights(quantities);
    if (scale !== hints.weightScale) return undefined;
    return weights.every((w, i) => w === backends[i]?.weight) ? quantities : undefined;
  } catch {
    return undefined;
  }
}

export const trafficSplitConverter: KindConverter<HubTrafficSplitSpec> = {
  read(raw, version, payload) {
    const spec = obj(raw.spec);
    const rawBackends = Array.isArray(spec.backends) ? (spec.backends as Json[]) : [];
    const hints: Preserved = { ...payload.hints };
    let backends: HubBackend[];
    if (version === 'v1alpha1') {
      const quantities = rawBackends.map((b) => b.weight as string | number);
      const { weights, scale } = readV1alpha1Weights(quantities);
      backends = rawBackends.map((b, i) => ({ service: String(b.service), weight: weights[i] ?? 0 }));
      const canonical = scale === 1 && quantities.every((q, i) => q === String(weights[i]));
      if (canonical) {
        delete hints.weightQuantities;
        delete hints.weightScale;
      } else {
        hints.weightQuantities = quantities;
        hints.weightScale = scale;
      }
    } else {
      backends = rawBackends.map((b) => ({ service: String(b.service), weight: Number(b.weight) }));
    }
    const matches = hasMatches(version) ? spec.matches : payload.lost?.matches;
    const out: HubTrafficSplitSpec = { service: String(spec.service), backends };
    if (matches !== undefined) out.matches = clone(matches as RouteReference[]);
    return { spec: out, hints };
  },

  write(spec, hints, version) {
    const quantities = version === 'v1alpha1' ? quantitiesFromHints(spec.backends, hints) : undefined;
    const backends = spec.backends.map((b, i) => ({
      service: b.service,
      weight: version === 'v1alpha1' ? (quantities?.[i] ?? formatMilli(BigInt(b.weight) * 1000n)) : b.weight,
    }));
    const out: Json = { service: spec.service, backends };
    const lost: Json = {};
    if (hasMatches(version)) put(out, 'matches', spec.matches);
    else put(lost, 'matches', spec.matches);
    const unused = version === 'v1alpha1' ? without(hints, ['weightQuantities', 'weightScale']) : without(hints, []);
    return { fields: { spec: out }, lost, hints: unused };
  },
};
