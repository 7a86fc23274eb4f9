/**
 * Watching files the proxy reads (its config, its certificates): fs.watch for speed plus a
 * poll for filesystems that do not notify, and one read at a time however many events come.
 * While fs.watch runs, the poll is only a safety net (a filesystem that accepts the watch but
 * never reports, such as NFS): every SAFETY_POLL_MS, not `pollMs`. Each poll stats the files on
 * libuv's thread pool; at 0.5 and 1 s they were 40 % of an idle sidecar's CPU (perf).
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';

const SAFETY_POLL_MS = 5000;

export class FileWatch {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The read asked for while one ran: one more, however many asked. */
  private again: Promise<void> | undefined;
  private stopped = false;
  private readonly dir: string;
  private readonly onChange: () => Promise<void>;
  private readonly pollMs: number;
  private readonly names: ReadonlySet<string> | undefined;

  /** Calls `onChange` (never twice at once) when something in `dir` (or one of `names`) may have changed. */
  constructor(dir: string, onChange: () => Promise<void>, pollMs: number, names?: readonly string[]) {
    this.dir = dir;
    this.onChange = onChange;
    this.pollMs = pollMs;
    this.names = names ? new Set(names) : undefined;
  }

  async start(): Promise<void> {
    await this.trigger();
    // Stopped during the first read: nothing may be left watching (an fs.watch keeps a process alive).
    if (this.stopped) return;
    try {
      this.watcher = watch(this.dir, (_event, name) => {
        if (!this.names || !name || this.names.has(String(name))) void this.trigger();
      });
      // A watch that fails later (its folder removed, say): the poll takes over at its own pace.
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
        this.schedulePoll();
        void this.trigger();
      });
    } catch {
      // The poll still notices changes.
    }
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = setInterval(() => void this.trigger(), this.watcher ? Math.max(this.pollMs, SAFETY_POLL_MS) : this.pollMs);
    this.poll.unref();
  }

  /**
   * Reads now; during a read, once more after it (that read may have looked before the change
   * that asks again, a certificate written while its predecessor was read, say). Resolves when
   * a read that started after this call is done.
   */
  trigger(): Promise<void> {
    if (!this.running) {
      this.running = this.onChange().finally(() => { this.running = undefined; });
      return this.running;
    }
    // After the running read, whether it succeeded or not; not once the watch stopped.
    const next = (): Promise<void> => {
      this.again = undefined;
      return this.stopped ? Promise.resolve() : this.trigger();
    };
    this.again ??= this.running.then(next, next);
    return this.again;
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
  }
}

/** `mtime:size` of each file, joined: equal signatures mean nothing to re-read. */
export async function signatureOf(files: readonly string[]): Promise<string> {
  const stats = await Promise.all(files.map((f) => stat(f)));
  return stats.map((s) => `${s.mtimeMs}:${s.size}`).join('|');
}
