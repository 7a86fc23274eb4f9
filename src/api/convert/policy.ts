/** TrafficPolicy has one version: its hub spec is that version's spec, copied. */
import type { TrafficPolicySpec } from '../types/policy.ts';
import { clone, obj, type KindConverter } from './types.ts';

export const trafficPolicyConverter: KindConverter<TrafficPolicySpec> = {
  read(raw, _version, payload) {
    return { spec: clone(obj(raw.spec)) as unknown as TrafficPolicySpec, hints: { ...payload.hints } };
  },
  write(spec, hints) {
    return { fields: { spec: clone(spec) }, lost: {}, hints: { ...hints } };
  },
};
