/** TrafficTarget: v1alpha1's top-level layout and the v1alpha1/2 destination port to and from the hub. */
import type { Subject } from '../types/common.ts';
import type { HubRule, HubTrafficTargetSpec, Preserved } from '../types/hub.ts';
import { without } from './preserve.ts';
import { ConversionError, clone, obj, put, type Json, type KindConverter } from './types.ts';

const hasPort = (version: string) => version === 'v1alpha1' || version === 'v1alpha2';

function readPort(port: unknown): number {
  const n = typeof port === 'string' ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ConversionError(`destination.port ${JSON.stringify(port)} is not a port number`);
  return n;
}

export const trafficTargetConverter: KindConverter<HubTrafficTargetSpec> = {
  read(raw, version, payload) {
    const container = version === 'v1alpha1' ? raw : obj(raw.spec);
    const dest = obj(container.destination);
    const hints: Preserved = { ...payload.hints };
    const destination: HubTrafficTargetSpec['destination'] = { kind: String(dest.kind), name: String(dest.name) };
    put(destination, 'namespace', dest.namespace);
    const port = hasPort(version) ? dest.port : payload.lost?.destinationPort;
    if (port !== undefined) {
      destination.port = readPort(port);
      if (hasPort(version)) {
        if (typeof port === 'string') hints.portAsString = true;
        else delete hints.portAsString;
      }
    }
    const spec: HubTrafficTargetSpec = { destination };
    put(spec, 'sources', container.sources as Subject[] | undefined);
    put(spec, 'rules', (version === 'v1alpha1' ? container.specs : container.rules) as HubRule[] | undefined);
    return { spec, hints };
  },

  write(spec, hints, version) {
    const { port, ...subject } = spec.destination;
    const destination: Json = clone(subject);
    const lost: Json = {};
    if (port !== undefined) {
      if (hasPort(version)) destination.port = hints?.portAsString ? String(port) : port;
      else lost.destinationPort = port;
    }
    const body: Json = { destination };
    put(body, 'sources', spec.sources);
    put(body, version === 'v1alpha1' ? 'specs' : 'rules', spec.rules);
    const unused = hasPort(version) ? without(hints, ['portAsString']) : without(hints, []);
    return { fields: version === 'v1alpha1' ? body : { spec: body }, lost, hints: unused };
  },
};
