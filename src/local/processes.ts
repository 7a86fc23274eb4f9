/** A child process that is restarted (with backoff) when it dies, until it is stopped. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export class ManagedProcess {
  readonly spec: ProcessSpec;
  child: ChildProcess | undefined;
  restarts = 0;
  lastExit: string | undefined;
  private stopped = false;
  private readonly onOutput: (name: string, line: string) => void;

  constructor(spec: ProcessSpec, onOutput: (name: string, line: string) => void) {
    this.spec = spec;
    this.onOutput = onOutput;
  }

  start(): void {
    if (this.stopped) return;
    const child = spawn(this.spec.command, this.spec.args, { cwd: this.spec.cwd, env: this.spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const forward = (data: Buffer) => {
      for (const line of data.toString().split('\n')) if (line.trim()) this.onOutput(this.spec.name, line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.on('error', (err) => { this.lastExit = err.message; });
    child.on('exit', (code, signal) => {
      this.child = undefined;
      if (this.stopped) return;
      this.lastExit = signal ? `killed by ${signal}` : `exited with ${code}`;
      this.restarts++;
      const delay = Math.min(10_000, 200 * 2 ** Math.min(this.restarts, 6));
      setTimeout(() => this.start(), delay).unref();
    });
  }

  /** Stops the process: SIGTERM, then SIGKILL after a grace period. */
  stop(graceMs = 3000): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
