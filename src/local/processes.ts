/**
 * A child process that is restarted (with backoff) when it dies, until it is stopped.
 *
 * Children never outlive local mode: each runs in its own process group (so its own children
 * are stopped with it) and, where util-linux `setpriv` exists, with the parent-death signal
 * set (`prctl(PR_SET_PDEATHSIG, SIGKILL)`), so even `kill -9` of `skiff up` takes them down.
 * A pid file (see pidfile.ts) catches what is left on systems without it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { backoffMs } from '../lib/backoff.ts';
import { PORTS } from '../lib/ports.ts';
import { ProcessLog } from './process-log.ts';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** A file that keeps everything the process writes, with a line when it starts and when it exits (process-log.ts). */
  logFile?: string;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export interface ManagedProcessHooks {
  /** Runs before every start (the first and each restart), e.g. to hand out a fresh bootstrap token. */
  beforeStart?: () => Promise<void>;
  /** A child was started (its pid) or has exited (undefined). */
  onPid?: (pid: number | undefined) => void;
}

export class ManagedProcess {
  readonly spec: ProcessSpec;
  child: ChildProcess | undefined;
  restarts = 0;
  lastExit: string | undefined;
  private stopped = false;
  private log: ProcessLog | undefined;
  private readonly onOutput: (name: string, line: string) => void;
  private readonly hooks: ManagedProcessHooks;

  constructor(spec: ProcessSpec, onOutput: (name: string, line: string) => void, hooks: ManagedProcessHooks = {}) {
    this.spec = spec;
    this.onOutput = onOutput;
    this.hooks = hooks;
  }

  start(): void {
    void this.launch();
  }

  private async launch(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.hooks.beforeStart?.();
    } catch (err) {
      this.lastExit = `could not prepare: ${(err as Error).message}`;
    }
    if (this.stopped) return;
    const [command, args] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', this.spec.command, ...this.spec.args]] : [this.spec.command, this.spec.args];
    const child = spawn(command, args, { cwd: this.spec.cwd, env: this.spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    if (child.pid) this.hooks.onPid?.(child.pid);
    if (this.spec.logFile) this.log ??= new ProcessLog(this.spec.logFile);
    const log = this.log;
    log?.note(`started ${this.spec.command} (pid ${child.pid ?? 'none'}${this.restarts ? `, restart ${this.restarts}` : ''})`);
    const forward = (data: Buffer) => {
      log?.write(data);
      for (const line of data.toString().split('\n')) if (line.trim()) this.onOutput(this.spec.name, line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.on('error', (err) => { this.lastExit = err.message; });
    child.on('exit', (code, signal) => {
      this.child = undefined;
      this.hooks.onPid?.(undefined);
      log?.note(signal ? `killed by ${signal}` : `exited with ${code}`);
      if (this.stopped) return;
      this.lastExit = signal ? `killed by ${signal}` : `exited with ${code}`;
      this.restarts++;
      const delay = backoffMs(this.restarts, 200, 10_000);
      setTimeout(() => this.start(), delay).unref();
    });
  }

  /** Stops the process and its group: SIGTERM, then SIGKILL after a grace period. */
  stop(graceMs = 3000): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.pid === undefined) {
      this.log?.close();
      return Promise.resolve();
    }
    const pid = child.pid;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    return new Promise((resolve) => {
      const kill = setTimeout(() => signal('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(kill);
        this.log?.close();
        resolve();
      });
      signal('SIGTERM');
    });
  }
}

/** Where a pod's sidecar lives and whom it talks to. */
export interface SidecarPlacement {
  /** The `skiff` entry point to run (bin/skiff.mjs or a bundle of it). */
  entry: string;
  controlUrl: string;
  proxyId: string;
  /** The pod's own folder: certs/ and its bootstrap token are kept there. */
  dir: string;
  trustBundleFile: string;
  /**
   * The pod's address: the sidecar listens there and the app is reached there. Local mode
   * runs every pod in one network namespace, so the outbound and admin
   * listeners must sit on the pod's own address too (docs/security.md: no isolation between
   * local pods); in a real pod they are on loopback, as `skiff proxy` defaults to.
   */
  ip: string;
}

/** The command line of a pod's sidecar, as local mode starts it. */
/** Local mode's sidecars report traffic every second, so its live view and dashboard follow within a second. */
export const LOCAL_REPORT_MS = 1000;

export function sidecarArgs(p: SidecarPlacement): string[] {
  return [p.entry, 'proxy', '--control', p.controlUrl, '--proxy-id', p.proxyId, '--certs', join(p.dir, 'certs'),
    '--trust-bundle', p.trustBundleFile, '--bootstrap-token-file', join(p.dir, 'token'),
    '--inbound', `${p.ip}:${PORTS.inbound}`, '--outbound', `${p.ip}:${PORTS.outbound}`, '--admin', `${p.ip}:${PORTS.admin}`, '--health', `${p.ip}:${PORTS.health}`,
    '--app-host', p.ip, '--tcp-forward-host', p.ip, '--traffic-report-interval', String(LOCAL_REPORT_MS)];
}
