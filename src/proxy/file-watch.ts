/**
 * Watching files the proxy reads (its config, its certificates): fs.watch for speed plus a
 * poll for filesystems that do not notify, and one read at a time however many events come.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';

export class FileWatch {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
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
    try {
      this.watcher = watch(this.dir, (_event, name) => {
        if (!this.names || !name || this.names.has(String(name))) void this.trigger();
      });
    } catch {
      // The poll still notices changes.
    }
    this.poll = setInterval(() => void this.trigger(), this.pollMs);
    this.poll.unref();
  }

  trigger(): Promise<void> {
    this.running ??= this.onChange().finally(() => { this.running = undefined; });
    return this.running;
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
  }
}

/** `mtime:size` of each file, joined: equal signatures mean nothing to re-read. */
export async function signatureOf(files: readonly string[]): Promise<string> {
  const stats = await Promise.all(files.map((f) => stat(f)));
  return stats.map((s) => `${s.mtimeMs}:${s.size}`).join('|');
}
