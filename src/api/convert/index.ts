/**
 * Conversion between every served SMI version and the hub. `toHub` reads any version;
 * `fromHub` writes any version; `convert` does both. Round trips are lossless (see
 * preserve.ts for how content a version cannot hold travels through it).
 */
import { apiVersionOf, findKind, splitApiVersion, type SmiKind } from '../meta.ts';
import type { VersionedObject } from '../types/common.ts';
import type { HubBase, HubObject } from '../types/hub.ts';
import { trafficTargetConverter } from './access.ts';
import { attachPreserved, extractPreserved, isEmpty } from './preserve.ts';
import { trafficSplitConverter } from './split.ts';
import { httpRouteGroupConverter, portRouteConverter } from './specs.ts';
import { trafficPolicyConverter } from './policy.ts';
import { ConversionError, clone, type Json, type KindConverter } from './types.ts';

export { ConversionError } from './types.ts';
export { PRESERVE_ANNOTATION } from './preserve.ts';

const CONVERTERS: Record<SmiKind, KindConverter<never>> = {
  TrafficSplit: trafficSplitConverter as KindConverter<never>,
  TrafficTarget: trafficTargetConverter as KindConverter<never>,
  HTTPRouteGroup: httpRouteGroupConverter as KindConverter<never>,
  TCPRoute: portRouteConverter as KindConverter<never>,
  UDPRoute: portRouteConverter as KindConverter<never>,
  TrafficPolicy: trafficPolicyConverter as KindConverter<never>,
};

function kindAndVersion(apiVersion: string, kind: string): { kind: SmiKind; version: string } {
  const { group, version } = splitApiVersion(apiVersion);
  const info = findKind(group, kind);
  if (!info) throw new ConversionError(`${kind} is not a kind of ${group || 'the core group'}`);
  if (!info.versions.includes(version)) throw new ConversionError(`${kind} has no version ${version}; served: ${info.versions.join(', ')}`);
  return { kind: info.kind, version };
}

/** Reads a schema-valid object of any served version into the hub. Throws ConversionError. */
export function toHub(object: VersionedObject): HubObject {
  const { kind, version } = kindAndVersion(object.apiVersion, object.kind);
  const { metadata, payload } = extractPreserved(object.metadata);
  const { spec, hints } = CONVERTERS[kind].read(object as Json, version, payload);
  const hub: HubBase<SmiKind, unknown> = { kind, sourceVersion: object.apiVersion, metadata, spec };
  if (object.status !== undefined) hub.status = clone(object.status) as HubBase<SmiKind, unknown>['status'];
  if (!isEmpty(hints)) hub.preserved = hints;
  return hub as HubObject;
}

/** Writes a hub object as the given version ("v1alpha2") of its kind. */
export function fromHub(hub: HubObject, version: string): VersionedObject {
  const apiVersion = apiVersionOf(hub.kind, version);
  kindAndVersion(apiVersion, hub.kind);
  const { fields, lost, hints } = (CONVERTERS[hub.kind] as KindConverter<unknown>).write(hub.spec, hub.preserved, version);
  const out: VersionedObject = { apiVersion, kind: hub.kind, metadata: attachPreserved(hub.metadata, lost, hints), ...fields };
  if (hub.status !== undefined) out.status = clone(hub.status);
  return out;
}

/** Converts an object to another version of its kind (the CRD conversion webhook's job). */
export function convert(object: VersionedObject, version: string): VersionedObject {
  return fromHub(toHub(object), version);
}
