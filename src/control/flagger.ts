/**
 * Flagger over SMI, the one shape that silently does the opposite of what users want: an A/B
 * Canary (`analysis.match`) cannot be expressed in a TrafficSplit, so Flagger's SMI routers
 * send 100 % of the apex Service to the canary during its iterations, matching requests or not
 * (shared/reference/flagger.md §2). Pure: finds such Canaries among those read from the API,
 * for the controller's Events and for `skiff check`.
 */
import { obj } from '../sources/objects.ts';

export interface CanaryView { namespace: string; name: string; apex: string; abMatch: boolean }

/** What matters of a `flagger.app/v1beta1` Canary: its apex Service (the TrafficSplit's name) and whether it is A/B. */
export function canaryView(o: unknown): CanaryView {
  const meta = obj(obj(o).metadata);
  const spec = obj(obj(o).spec);
  const service = obj(spec.service);
  const match = obj(spec.analysis).match ?? obj(spec.canaryAnalysis).match;
  const apex = typeof service.name === 'string' && service.name ? service.name : String(obj(spec.targetRef).name ?? '');
  return { namespace: String(meta.namespace ?? ''), name: String(meta.name ?? ''), apex, abMatch: Array.isArray(match) && match.length > 0 };
}

export interface AbOverSmi { canary: CanaryView; split: { namespace: string; name: string }; message: string }

/** A/B Canaries whose traffic an SMI TrafficSplit carries (one named after the apex, in the Canary's namespace). */
export function abCanariesOverSmi(canaries: readonly CanaryView[], splits: readonly { namespace: string; name: string }[]): AbOverSmi[] {
  const present = new Set(splits.map((s) => `${s.namespace}/${s.name}`));
  return canaries.filter((c) => c.abMatch && present.has(`${c.namespace}/${c.apex}`)).map((canary) => ({
    canary,
    split: { namespace: canary.namespace, name: canary.apex },
    message: `Flagger Canary ${canary.namespace}/${canary.name} is an A/B canary (analysis.match), which a TrafficSplit cannot express: `
      + `during its iterations Flagger sends 100 % of ${canary.apex} to ${canary.apex}-canary, matching requests or not. `
      + 'Over SMI use a weighted canary (stepWeight) or blue/green (iterations without match).',
  }));
}
