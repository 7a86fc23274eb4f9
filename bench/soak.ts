/**
 * bench/soak: the sidecar under the memory limit a cluster gives it. Two sidecars (client and
 * server, mTLS, strict access) each run in their own memory cgroup limited to LIMIT_MB
 * (default 128, the injected container's limit), started as injection starts them (bench/
 * harness). Then a burst (BURST_RATE rps, default 5,000, for BURST seconds, default 30), a
 * crowd (CROWD callers, default 1,000, each calling a backend that answers after 1 s, in a loop,
 * for CROWD_SECONDS, default 30: more requests in flight and connections than the limit allows,
 * which the sidecars must refuse or answer 503 `overloaded` instead of being OOM-killed), a
 * crowd both ways (the same crowd through the client to the server, while BOTH_WAYS callers,
 * default 190, call the slow backend through the server's own outbound listener: the server's
 * sidecar holds both directions full at once, the worst case its bounds are sized for) and a
 * soak (SOAK_RATE rps, default 1,000, for SOAK seconds, default 600) go through them.
 *
 * Method (printed with the results): fortio -uniform on CPU 0, both sidecars on CPU 1, nginx
 * origin answering 1 KiB; the crowd's callers in this process (undici, one connection each; a
 * caller whose connection is refused waits 100 ms) and its slow backend (a fortio server
 * behind the origin's `/slow`); every SAMPLE seconds (default 10) each sidecar's RSS, private
 * anonymous memory and its cgroup's charged memory; afterwards each cgroup's OOM kills and
 * peak, whether each sidecar is still the process it was, and the RSS trend over the soak
 * (least-squares line through the samples after its first minute, as a share of the mean):
 * flat means within ±10 %; in the crowd both ways, the most requests the server held in flight
 * in each direction (its metrics, every second). Exits 1 on an OOM kill, a dead sidecar, a trend
 * beyond ±10 % or a crowd of which no request was served.
 *
 * Needs root (a cgroup v1 memory hierarchy at /sys/fs/cgroup/memory, or cgroup v2).
 *
 *   npm run bench:soak            (SOAK=600 BURST=30 LIMIT_MB=128 by default)
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { PORTS } from '../src/lib/ports.ts';
import { sidecarProgram, fortioAsync, meshedPair, memoryOf, NODE_FLAGS, SLOW_BACKEND, startOrigin, startSlowBackend, stopAll, type FortioResult } from './harness.ts';

const LIMIT_MB = Number(process.env.LIMIT_MB ?? 128);
const BURST = Number(process.env.BURST ?? 30);
const BURST_RATE = Number(process.env.BURST_RATE ?? 5000);
const SOAK = Number(process.env.SOAK ?? 600);
const SOAK_RATE = Number(process.env.SOAK_RATE ?? 1000);
const SAMPLE = Number(process.env.SAMPLE ?? 10);
const CROWD = Number(process.env.CROWD ?? 1000);
const CROWD_SECONDS = Number(process.env.CROWD_SECONDS ?? 30);
const BOTH_WAYS = Number(process.env.BOTH_WAYS ?? 190);

/** `callers` calling `url` in a loop for `seconds`: what they got, by status and Skiff reason or error code. */
async function crowd(url: string, seconds: number, callers = CROWD): Promise<{ outcomes: Record<string, number>; ok: number }> {
  const agent = new Agent({ connections: callers, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const outcomes: Record<string, number> = {};
  const count = (what: string) => { outcomes[what] = (outcomes[what] ?? 0) + 1; };
  const until = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (Date.now() < until) {
      try {
        const res = await request(url, { dispatcher: agent, headers: { host: 'web.shop' } });
        await res.body.dump();
        count(`${res.statusCode}${res.headers['x-skiff-reason'] ? ` ${String(res.headers['x-skiff-reason'])}` : ''}`);
      } catch (err) {
        count((err as { code?: string }).code ?? 'error');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }));
  await agent.destroy();
  return { outcomes, ok: outcomes['200'] ?? 0 };
}

/** A memory cgroup with a hard limit: cgroup v1's memory controller, or v2's memory.max. */
class MemoryLimit {
  readonly path: string;
  private readonly v2: boolean;
  constructor(name: string, megabytes: number) {
    this.v2 = !existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
    this.path = this.v2 ? `/sys/fs/cgroup/skiff-soak-${name}-${process.pid}` : `/sys/fs/cgroup/memory/skiff-soak-${name}-${process.pid}`;
    mkdirSync(this.path);
    writeFileSync(join(this.path, this.v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(megabytes * 1024 * 1024));
    // No swapping around the limit (where the swap controller exists; v1 hosts here have no swap).
    if (this.v2 && existsSync(join(this.path, 'memory.swap.max'))) writeFileSync(join(this.path, 'memory.swap.max'), '0');
  }

  /** A command prefix that moves itself into this cgroup, then runs the rest. */
  get prefix(): string[] {
    return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.path];
  }

  private read(file: string): string {
    return readFileSync(join(this.path, file), 'utf8');
  }

  /** MB charged to the cgroup now (anonymous memory and page cache), and its peak. */
  usage(): { now: number; peak: number } {
    const mb = (text: string) => Number(text.trim()) / 1024 / 1024;
    if (this.v2) return { now: mb(this.read('memory.current')), peak: existsSync(join(this.path, 'memory.peak')) ? mb(this.read('memory.peak')) : NaN };
    return { now: mb(this.read('memory.usage_in_bytes')), peak: mb(this.read('memory.max_usage_in_bytes')) };
  }

  oomKills(): number {
    const text = this.read(this.v2 ? 'memory.events' : 'memory.oom_control');
    return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0);
  }

  remove(): void {
    try { rmdirSync(this.path); } catch { /* still has a process: left for the kernel to empty */ }
  }
}

/** A sidecar's requests in flight by direction, from its admin listener's metrics (beside its outbound listener). */
async function inFlightOf(outbound: string): Promise<{ inbound: number; outbound: number }> {
  const text = await request(`http://${outbound.replace(/:\d+$/, `:${PORTS.admin}`)}/metrics`).then((r) => r.body.text(), () => '');
  const of = (d: string) => Number(new RegExp(`skiff_requests_in_flight\\{direction="${d}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { inbound: of('inbound'), outbound: of('outbound') };
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
}

/** Least-squares slope of y over x, times the x span, as a share of y's mean. */
function trendPercent(points: { t: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const slope = points.reduce((s, p) => s + (p.t - mx) * (p.y - my), 0) / points.reduce((s, p) => s + (p.t - mx) ** 2, 0);
  const span = (points.at(-1)?.t ?? 0) - (points[0]?.t ?? 0);
  return (100 * slope * span) / my;
}

async function main(): Promise<number> {
  startOrigin();
  startSlowBackend();
  const { program, codeCache } = await sidecarProgram();
  const limits = { server: new MemoryLimit('server', LIMIT_MB), client: new MemoryLimit('client', LIMIT_MB) };
  try {
    const { server, client } = await meshedPair(program, { server: limits.server.prefix, client: limits.client.prefix });
    const pids = { client: client.child.pid as number, server: server.child.pid as number };
    const url = `http://${client.outbound}/`;
    console.log(`bench/soak — two sidecars (mTLS) in ${LIMIT_MB} MiB memory cgroups; node flags ${NODE_FLAGS.join(' ')}; code cache ${codeCache}`);
    console.log(`burst ${BURST_RATE} rps × ${BURST}s (64 connections), then a crowd of ${CROWD} callers × ${CROWD_SECONDS}s of a backend answering after ${SLOW_BACKEND.delay} (one connection each, in this process), then that crowd again while ${BOTH_WAYS} more call it through the server's own sidecar (both directions full there), then soak ${SOAK_RATE} rps × ${SOAK}s (16 connections); samples every ${SAMPLE}s: RSS / anon / cgroup charge, MB\n`);
    const samples: { phase: string; t: number; rss: Record<string, number> }[] = [];
    const started = Date.now();
    const sample = (phase: string) => {
      const line: string[] = [];
      const rss: Record<string, number> = {};
      for (const name of ['client', 'server'] as const) {
        if (!alive(pids[name])) { line.push(`${name} GONE`); continue; }
        const m = memoryOf(pids[name]);
        rss[name] = m.rss;
        line.push(`${name} ${m.rss.toFixed(1)} / ${m.anon.toFixed(1)} / ${limits[name].usage().now.toFixed(1)}`);
      }
      const t = (Date.now() - started) / 1000;
      samples.push({ phase, t, rss });
      console.log(`  ${phase.padEnd(5)} t=${t.toFixed(0).padStart(4)}s  ${line.join('   ')}`);
    };
    /** Samples every SAMPLE seconds, as `name`, while `run` goes on. */
    const sampled = async <T>(name: string, run: Promise<T>): Promise<T> => {
      const timer = setInterval(() => sample(name), SAMPLE * 1000);
      try { return await run; } finally { clearInterval(timer); }
    };
    const phase = (name: string, rate: number, connections: number, seconds: number): Promise<FortioResult> => sampled(name, fortioAsync(url, rate, connections, seconds));
    sample('idle');
    const burst = await phase('burst', BURST_RATE, 64, BURST);
    const crowded = await sampled('crowd', crowd(`http://${client.outbound}/slow`, CROWD_SECONDS));
    const most = { inbound: 0, outbound: 0 };
    const watch = setInterval(() => void inFlightOf(server.outbound).then((now) => {
      for (const d of ['inbound', 'outbound'] as const) most[d] = Math.max(most[d], now[d]);
    }), 1000);
    const [bothIn, bothOut] = await sampled('both', Promise.all([crowd(`http://${client.outbound}/slow`, CROWD_SECONDS), crowd(`http://${server.outbound}/slow`, CROWD_SECONDS, BOTH_WAYS)])).finally(() => clearInterval(watch));
    const soak = await phase('soak', SOAK_RATE, 16, SOAK);
    sample('after');
    let failed = false;
    console.log('');
    console.log(`crowd: ${crowded.ok} answered 200 (${(crowded.ok / CROWD_SECONDS).toFixed(0)} per second); all outcomes ${JSON.stringify(crowded.outcomes)}`);
    console.log(`both ways: the server held at most ${most.inbound} inbound and ${most.outbound} outbound requests in flight; through the client ${JSON.stringify(bothIn.outcomes)}; through the server's own outbound ${JSON.stringify(bothOut.outcomes)}`);
    for (const r of [['burst', burst], ['soak', soak]] as const) console.log(`${r[0].padEnd(5)}: ${r[1].count} requests at ${r[1].qps.toFixed(0)} rps, errors ${r[1].errors}, p50 ${r[1].p50.toFixed(2)} ms, p99 ${r[1].p99.toFixed(2)} ms`);
    // The trend leaves out the soak's first minute (the heap settling after the burst).
    const soakStart = samples.find((x) => x.phase === 'soak')?.t ?? 0;
    for (const name of ['client', 'server'] as const) {
      const kills = limits[name].oomKills();
      const up = alive(pids[name]);
      const soakPoints = samples.filter((s) => s.phase === 'soak' && s.t - soakStart >= 60 && s.rss[name] !== undefined).map((s) => ({ t: s.t, y: s.rss[name] as number }));
      const trend = soakPoints.length >= 3 ? trendPercent(soakPoints) : NaN;
      const flat = Number.isFinite(trend) && Math.abs(trend) <= 10;
      console.log(`${name}: OOM kills ${kills}, ${up ? 'still running' : 'GONE'}, cgroup peak ${limits[name].usage().peak.toFixed(1)} MB of ${LIMIT_MB}, peak RSS ${up ? memoryOf(pids[name]).peak.toFixed(1) : '?'} MB, RSS trend over the soak ${Number.isFinite(trend) ? `${trend >= 0 ? '+' : ''}${trend.toFixed(1)}%` : 'n/a (too short)'} ${flat ? '(flat)' : Number.isFinite(trend) ? '(NOT flat)' : ''}`);
      if (kills > 0 || !up || (Number.isFinite(trend) && !flat)) failed = true;
    }
    for (const [name, c] of [['crowd', crowded], ['both ways (through the client)', bothIn], ['both ways (through the server)', bothOut]] as const) {
      if (c.ok > 0) continue;
      console.log(`${name}: no request was served`);
      failed = true;
    }
    return failed ? 1 : 0;
  } finally {
    stopAll();
    await new Promise((r) => setTimeout(r, 500));
    limits.server.remove();
    limits.client.remove();
  }
}

process.exitCode = await main().catch((err) => {
  console.error(err);
  stopAll();
  return 1;
});
