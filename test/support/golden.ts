/** Loading golden-case inputs and rendering configs, shared by the golden and decision tests. */
import { deepStrictEqual, equal, fail } from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyConfig } from '../../src/config/index.ts';
import type { EndpointSliceInput, PodInput, ServiceInput, Snapshot } from '../../src/model/index.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';

export const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden');

/** Only `UPDATE_GOLDEN=1` writes expectations; a test never writes its own. */
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

/**
 * Compares output with a golden file. A missing golden file fails the test (a case committed
 * without its outputs must not pass); with UPDATE_GOLDEN=1 the file is (re)written instead.
 */
export function compareGolden(file: string, actual: string, update = UPDATE_GOLDEN): void {
  if (update) {
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) fail(`${file} is missing: run UPDATE_GOLDEN=1 npm run test:unit, review the new file and commit it`);
  equal(actual, readFileSync(file, 'utf8'), `${file} differs; run UPDATE_GOLDEN=1 npm run test:unit and review the diff`);
}

export function loadCase(file: string): Snapshot {
  const { documents, issues } = parseYamlText(file, readFileSync(file, 'utf8'));
  deepStrictEqual(issues, []);
  return snapshotFromDocuments(documents.map((d) => d.value));
}

/** The outbound half most proxies share once, then each proxy without it (with its own when it has an outbound scope). */
export function renderConfigs(configs: Map<string, ProxyConfig>): string {
  const first = configs.values().next().value;
  const shared = JSON.stringify(first?.outbound ?? null);
  const proxies = Object.fromEntries([...configs].map(([id, { outbound, ...rest }]) => [id, JSON.stringify(outbound) === shared ? rest : { ...rest, outbound }]));
  return `${JSON.stringify({ outbound: first?.outbound ?? null, proxies }, null, 2)}\n`;
}

/** Every golden case's input, frozen, in name order. */
export function goldenSnapshots(): Snapshot[] {
  return readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.in.yaml')).sort().map((f) => deepFreeze(loadCase(join(GOLDEN_DIR, f))));
}

/** Each way pod `i` can change on its own: removed, flipped ready, relabelled, readdressed, cloned under a new name. */
export function onePodChanged(pods: readonly PodInput[], i: number): { what: string; pods: PodInput[] }[] {
  const pod = pods[i] as PodInput;
  const replaced = (p: PodInput | undefined) => pods.flatMap((q, j) => (j === i ? (p ? [p] : []) : [q]));
  return [
    { what: `${pod.name} removed`, pods: replaced(undefined) },
    { what: `${pod.name} ready=${!pod.ready}`, pods: replaced({ ...pod, ready: !pod.ready }) },
    { what: `${pod.name} relabelled`, pods: replaced({ ...pod, labels: { moved: 'elsewhere' } }) },
    { what: `${pod.name} readdressed`, pods: replaced({ ...pod, ip: pod.ip ? '10.99.99.97' : undefined }) },
    { what: `${pod.name} cloned`, pods: [...pods, { ...pod, name: `${pod.name}-clone`, ip: pod.ip ? '10.99.99.99' : undefined }] },
  ];
}

/** Every way the tests change one EndpointSlice: removed, its endpoints' readiness flipped, emptied, cloned under a new name. */
export function oneSliceChanged(slices: readonly EndpointSliceInput[], i: number): { what: string; endpointSlices: EndpointSliceInput[] }[] {
  const slice = slices[i] as EndpointSliceInput;
  const replaced = (x: EndpointSliceInput | undefined) => slices.flatMap((q, j) => (j === i ? (x ? [x] : []) : [q]));
  return [
    { what: `slice ${slice.name} removed`, endpointSlices: replaced(undefined) },
    { what: `slice ${slice.name} readiness flipped`, endpointSlices: replaced({ ...slice, endpoints: slice.endpoints.map((e) => ({ ...e, ready: e.ready === false })) }) },
    { what: `slice ${slice.name} emptied`, endpointSlices: replaced({ ...slice, endpoints: [] }) },
    { what: `slice ${slice.name} cloned`, endpointSlices: [...slices, { ...slice, name: `${slice.name}-clone`, endpoints: [{ addresses: ['10.99.99.98'], ready: true }] }] },
  ];
}

/**
 * Every way the tests change one Service: removed, its selector changed to select nothing or
 * (without one) given the first pod's labels, its port renumbered, its address changed, cloned
 * under a new name (which selects the same pods: their ports and Services change).
 */
export function oneServiceChanged(services: readonly ServiceInput[], i: number, pods: readonly PodInput[]): { what: string; services: ServiceInput[] }[] {
  const svc = services[i] as ServiceInput;
  const replaced = (x: ServiceInput | undefined) => services.flatMap((q, j) => (j === i ? (x ? [x] : []) : [q]));
  const firstPod = pods.find((p) => p.namespace === svc.namespace);
  const ports = svc.ports.map((p, k) => (k === 0 ? { ...p, port: p.port + 1000 } : p));
  return [
    { what: `Service ${svc.name} removed`, services: replaced(undefined) },
    svc.selector
      ? { what: `Service ${svc.name} selects nothing`, services: replaced({ ...svc, selector: { nothing: 'here' } }) }
      : { what: `Service ${svc.name} given a selector`, services: replaced({ ...svc, selector: { ...(firstPod?.labels ?? { app: 'none' }) } }) },
    { what: `Service ${svc.name} port renumbered`, services: replaced({ ...svc, ports }) },
    // As Argo Rollouts points a canary Service at the stable pods: another Service's selector.
    ...services.filter((o) => o !== svc && o.namespace === svc.namespace && o.selector).slice(0, 2)
      .map((o) => ({ what: `Service ${svc.name} selects as ${o.name} does`, services: replaced({ ...svc, selector: { ...o.selector } }) })),
    { what: `Service ${svc.name} readdressed`, services: replaced({ ...svc, clusterIP: '10.96.99.99' }) },
    { what: `Service ${svc.name} cloned`, services: [...services, { ...svc, name: `${svc.name}-clone`, clusterIP: svc.clusterIP ? '10.96.99.98' : undefined }] },
  ];
}

/** The same snapshot in new arrays: the model can reuse nothing (a build from scratch). */
export function inNewArrays(s: Snapshot): Snapshot {
  return { ...s, services: [...s.services], pods: [...s.pods], endpointSlices: [...s.endpointSlices], namespaces: [...s.namespaces], smi: [...s.smi] };
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
