/**
 * sources/kubernetes: the cluster as snapshots. One informer per resource (Namespaces,
 * Services, EndpointSlices, Pods, and every SMI kind in its stored version); every change
 * schedules a snapshot. Robust the way client-node's informers need: a watch that errors is
 * restarted with backoff (410 Gone re-lists inside the informer), a watch that stays silent
 * longer than the watchdog period is restarted, and handler exceptions never escape.
 */
import { EventEmitter } from 'node:events';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { parseSmiObject, SMI_KINDS } from '../../api/index.ts';
import { backoffMs } from '../../lib/backoff.ts';
import { DEFAULT_MESH, type MeshSettings, type Snapshot } from '../../model/index.ts';
import { toEndpointSlice, toNamespace, toPod, toService } from '../objects.ts';

/** In a cluster the pod spec tells whether a sidecar runs, and the kubelet reports readiness. */
const IN_CLUSTER = { injects: false, readyWithoutStatus: false } as const;

type AnyInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

interface Watched {
  name: string;
  informer: AnyInformer;
  lastEvent: number;
  failures: number;
  restarting: boolean;
  /** The informer's objects as the snapshot holds them, kept until an event says they changed. */
  converted?: readonly unknown[];
  /** Each informer object's conversion: an object the informer kept as it was is not converted again. */
  readonly each: WeakMap<object, unknown>;
}

export interface KubernetesSourceOptions {
  mesh?: Partial<MeshSettings>;
  /** Restart a watch that saw no event for this long (ms). */
  watchdogMs?: number;
  log?: (event: string, detail: Record<string, unknown>) => void;
}

export class KubernetesSource extends EventEmitter<{ snapshot: [Snapshot] }> {
  private readonly watched: Watched[] = [];
  private readonly options: KubernetesSourceOptions;
  private readonly kc: KubeConfig;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(kc: KubeConfig, options: KubernetesSourceOptions = {}) {
    super();
    this.kc = kc;
    this.options = options;
  }

  private log(event: string, detail: Record<string, unknown>): void {
    this.options.log?.(event, detail);
  }

  private watch(name: string, path: string, list: () => Promise<unknown>): void {
    const informer = makeInformer(this.kc, path, list as never) as unknown as AnyInformer;
    const entry: Watched = { name, informer, lastEvent: Date.now(), failures: 0, restarting: false, each: new WeakMap() };
    const changed = () => {
      entry.lastEvent = Date.now();
      entry.failures = 0;
      entry.converted = undefined;
      this.schedule();
    };
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, () => { try { changed(); } catch { /* never let a handler break the watch */ } });
    informer.on('error', (err: unknown) => this.restart(entry, err));
    this.watched.push(entry);
  }

  private restart(entry: Watched, err: unknown): void {
    if (this.stopped || entry.restarting) return;
    entry.restarting = true;
    entry.failures++;
    const delay = backoffMs(entry.failures, 250, 30_000);
    this.log('watch-restart', { watch: entry.name, error: err instanceof Error ? err.message : String(err), inMs: Math.round(delay) });
    setTimeout(() => {
      entry.restarting = false;
      if (this.stopped) return;
      entry.lastEvent = Date.now();
      entry.informer.start().catch((e: unknown) => this.restart(entry, e));
    }, delay).unref();
  }

  async start(): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    const discovery = this.kc.makeApiClient(DiscoveryV1Api);
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    this.watch('namespaces', '/api/v1/namespaces', () => core.listNamespace());
    this.watch('services', '/api/v1/services', () => core.listServiceForAllNamespaces());
    this.watch('pods', '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.watch('endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces());
    for (const info of Object.values(SMI_KINDS)) {
      this.watch(info.plural, `/apis/${info.group}/${info.storage}/${info.plural}`, () => custom.listClusterCustomObject({ group: info.group, version: info.storage, plural: info.plural }));
    }
    await Promise.all(this.watched.map((w) => w.informer.start().catch((err: unknown) => this.restart(w, err))));
    const watchdogMs = this.options.watchdogMs ?? 5 * 60_000;
    this.watchdog = setInterval(() => {
      for (const w of this.watched) {
        if (!w.restarting && Date.now() - w.lastEvent > watchdogMs) {
          void w.informer.stop();
          this.restart(w, new Error(`no event for ${Math.round(watchdogMs / 1000)} s`));
        }
      }
    }, Math.min(watchdogMs, 30_000));
    this.watchdog.unref();
    this.emit('snapshot', this.snapshot());
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.emit('snapshot', this.snapshot());
      } catch (err) {
        this.log('snapshot-error', { error: (err as Error).message });
      }
    }, 5);
  }

  /**
   * One kind's objects converted for the snapshot. A kind no event touched since the last
   * snapshot gives the very same array, so the model can tell what did not change (a weight
   * edit reuses 50,000 pods as they were); in a kind that changed, only the objects the
   * informer replaced are converted again.
   */
  private items<T>(name: string, convert: (item: Record<string, unknown>) => T | undefined): T[] {
    const entry = this.watched.find((w) => w.name === name);
    if (!entry) return [];
    if (!entry.converted) {
      const out: T[] = [];
      for (const item of entry.informer.list() as unknown as Record<string, unknown>[]) {
        let converted = entry.each.get(item) as T | undefined;
        if (converted === undefined && !entry.each.has(item)) {
          converted = convert(item);
          entry.each.set(item, converted);
        }
        if (converted !== undefined) out.push(converted);
      }
      entry.converted = out;
    }
    return entry.converted as T[];
  }

  snapshot(): Snapshot {
    const smi = Object.values(SMI_KINDS).flatMap((info) => this.items(info.plural, (o) => parseSmiObject({ ...o, apiVersion: (o.apiVersion as string | undefined) ?? `${info.group}/${info.storage}`, kind: (o.kind as string | undefined) ?? info.kind })));
    return {
      mesh: { ...DEFAULT_MESH, ...this.options.mesh },
      namespaces: this.items('namespaces', toNamespace),
      services: this.items('services', toService),
      pods: this.items('pods', (o) => toPod(o, IN_CLUSTER)),
      endpointSlices: this.items('endpointslices', toEndpointSlice),
      smi,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearInterval(this.watchdog);
    await Promise.all(this.watched.map((w) => w.informer.stop()));
  }
}
