/**
 * What local mode shows: services and endpoints, each split's configured and observed share,
 * allowed and denied requests, problems. Observed shares and access counts come from every
 * sidecar's /stats, read once a second, over a sliding window of the last ten seconds.
 */
import { request } from 'undici';
import type { ProxyStats } from '../config/index.ts';
import { join } from 'node:path';
import { PORTS } from '../lib/ports.ts';
import type { LocalRuntime } from './runtime.ts';


const WINDOW = 10;

export interface SplitView {
  split: string;
  root: string;
  active: boolean;
  backends: { service: string; configured: number; observed: number | null; requests: number }[];
}

export interface LocalStatus {
  controlPlane: string;
  pods: { pod: string; address: string; meshed: boolean; app: string; sidecar: string; restarts: number }[];
  services: { service: string; endpoints: number }[];
  splits: SplitView[];
  access: { allowed: number; denied: number; windowSeconds: number };
  proxies: { total: number; upToDate: number };
  problems: string[];
  recentOutput: string[];
}

export class LiveStats {
  private readonly runtime: LocalRuntime;
  private timer: NodeJS.Timeout | undefined;
  /** Per second: cluster request totals and inbound counters summed over all sidecars. */
  private readonly samples: { clusters: Map<string, number>; allowed: number; denied: number }[] = [];
  private readonly lines: string[] = [];

  constructor(runtime: LocalRuntime) {
    this.runtime = runtime;
  }

  /** A line for the view's OUTPUT (process-log.ts decides which lines, and their form). */
  output(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 20) this.lines.shift();
  }

  start(): void {
    this.timer = setInterval(() => void this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    const clusters = new Map<string, number>();
    let allowed = 0;
    let denied = 0;
    await Promise.all([...this.runtime.pods.values()].filter((p) => p.sidecar).map(async (p) => {
      try {
        const res = await request(`http://${p.input.ip}:${PORTS.admin}/stats`, { headersTimeout: 800, bodyTimeout: 800 });
        const stats = await res.body.json() as ProxyStats;
        for (const c of stats.clusters) clusters.set(c.name, (clusters.get(c.name) ?? 0) + c.requests);
        allowed += stats.inbound.inboundAllowed;
        denied += stats.inbound.inboundDenied;
      } catch {
        // A sidecar that is starting or restarting is simply not counted this second.
      }
    }));
    this.samples.push({ clusters, allowed, denied });
    if (this.samples.length > WINDOW + 1) this.samples.shift();
  }

  status(): LocalStatus {
    const topology = this.runtime.controller.topology;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const delta = (name: string) => Math.max(0, (last?.clusters.get(name) ?? 0) - (first?.clusters.get(name) ?? 0));
    const splits: SplitView[] = (topology?.splits ?? []).map((s) => {
      const port = s.ports[0];
      const counts = (port?.backends ?? []).map((b) => delta(`${b.service}:${port?.port}`));
      const total = counts.reduce((a, b) => a + b, 0);
      return {
        split: s.key, root: s.root ?? '', active: s.active,
        backends: (port?.backends ?? []).map((b, i) => ({ service: b.service, configured: b.percent, observed: total > 0 ? Math.round(((counts[i] ?? 0) / total) * 1000) / 10 : null, requests: counts[i] ?? 0 })),
      };
    });
    const proxies = this.runtime.controller.proxyStatus();
    return {
      controlPlane: this.runtime.controlUrl,
      pods: [...this.runtime.pods.entries()].map(([key, p]) => ({
        pod: key, address: p.input.ip ?? '', meshed: p.input.meshed,
        app: p.app ? (p.app.child ? 'running' : `down (${p.app.lastExit ?? 'starting'})`) : 'none',
        sidecar: p.sidecar ? (p.sidecar.child ? 'running' : `down (${p.sidecar.lastExit ?? 'starting'})`) : 'none',
        restarts: (p.app?.restarts ?? 0) + (p.sidecar?.restarts ?? 0),
      })),
      services: (topology?.services ?? []).map((s) => ({ service: s.key, endpoints: s.ports[0]?.endpoints.filter((e) => e.ready).length ?? 0 })),
      splits,
      access: { allowed: (last?.allowed ?? 0) - (first?.allowed ?? 0), denied: (last?.denied ?? 0) - (first?.denied ?? 0), windowSeconds: Math.max(0, this.samples.length - 1) },
      proxies: { total: proxies.length, upToDate: proxies.filter((p) => p.upToDate).length },
      problems: [...this.runtime.problems, ...this.runtime.controller.problems()],
      recentOutput: [...this.lines],
    };
  }
}

/** What the first screen says before any numbers: where to look, how to change things, how to stop. */
export function guideLines(s: LocalStatus, dir: string, debugUrl: string): string[] {
  const meshed = s.pods.filter((p) => p.meshed).length;
  const lines = [
    `skiff up ${dir}: a local mesh of ${s.pods.length} pod${s.pods.length === 1 ? '' : 's'} (${meshed} with a Skiff sidecar); control plane ${s.controlPlane}`,
    `  dashboard (browser)      ${debugUrl}/dashboard/`,
    `  live status (JSON)       ${debugUrl}/status`,
    `  proxies and their config ${debugUrl}/debug/proxies   ${debugUrl}/debug/config/<namespace>/<pod>`,
    `  topology and problems    ${debugUrl}/debug/topology   ${debugUrl}/debug/problems`,
    `  each process's output    ${join(dir, '.skiff', 'pods')}/<namespace>.<pod>/app.log, sidecar.log`,
    `  edit any YAML file in ${dir} and save: it applies live (try a TrafficSplit weight); Ctrl-C stops every process`,
  ];
  if (s.pods.length === 0) lines.push('', `NOTHING TO RUN: ${dir} has no Deployment, StatefulSet or Pod. Add one (see examples/bookstore/workloads.yaml); the folder is watched.`);
  else if (meshed === 0) lines.push('', `NO SIDECARS: every pod in ${dir} sets skiff.dev/inject: "false", so no traffic goes through the mesh.`);
  return lines;
}

/** The live part of the view `skiff up` redraws (under the guide lines on a terminal). */
export function renderStatus(s: LocalStatus): string[] {
  const lines = [`PROXIES up to date ${s.proxies.upToDate}/${s.proxies.total}`];
  lines.push('PODS');
  for (const p of s.pods) lines.push(`  ${p.pod.padEnd(36)} ${p.address.padEnd(15)} app ${p.app}${p.meshed ? `, sidecar ${p.sidecar}` : ' (no sidecar)'}${p.restarts ? `, ${p.restarts} restarts` : ''}`);
  lines.push('SERVICES');
  for (const svc of s.services) lines.push(`  ${svc.service.padEnd(36)} ${svc.endpoints} endpoint${svc.endpoints === 1 ? '' : 's'}`);
  lines.push(`SPLITS (observed over the last ${s.access.windowSeconds}s)`);
  if (s.splits.length === 0) lines.push('  none');
  for (const sp of s.splits) {
    lines.push(`  ${sp.split} → root ${sp.root}${sp.active ? '' : ' (NOT APPLIED: see problems)'}`);
    for (const b of sp.backends) lines.push(`    ${b.service.padEnd(34)} configured ${`${b.configured}%`.padStart(6)}   observed ${b.observed === null ? '     -' : `${b.observed}%`.padStart(6)}  (${b.requests} requests)`);
  }
  lines.push(`ACCESS (last ${s.access.windowSeconds}s): ${s.access.allowed} allowed, ${s.access.denied} denied (403)`);
  lines.push(s.problems.length ? `PROBLEMS (${s.problems.length})` : 'PROBLEMS: none');
  for (const p of s.problems.slice(0, 10)) lines.push(`  ${p}`);
  if (s.recentOutput.length) {
    lines.push('OUTPUT (latest: the apps, and the sidecars\' warnings)');
    for (const l of s.recentOutput.slice(-6)) lines.push(`  ${l}`);
  }
  return lines;
}
