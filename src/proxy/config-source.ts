/**
 * Where configs come from. The proxy depends only on this interface; a file source lives
 * here, the control plane's stream client implements the same contract.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface ConfigSourceEvents {
  /** A decoded document that should be a ProxyConfig; the proxy validates it. */
  config: [unknown];
  /** The source could not read or decode what it has. */
  error: [Error];
}

export interface ConfigSource extends EventEmitter<ConfigSourceEvents> {
  start(): Promise<void>;
  stop(): void;
  /** Called by the proxy after it applied or refused a config (the stream acknowledges with it). */
  report?(result: { hash?: string; error?: string }): void;
}

/** A JSON file, re-read when it changes (watch plus a poll, for filesystems that do not notify). */
export class FileConfigSource extends EventEmitter<ConfigSourceEvents> implements ConfigSource {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private signature = '';
  private reading: Promise<void> | undefined;

  private readonly file: string;
  private readonly pollMs: number;

  constructor(file: string, pollMs = 500) {
    super();
    this.file = file;
    this.pollMs = pollMs;
  }

  async start(): Promise<void> {
    await this.read();
    try {
      this.watcher = watch(dirname(this.file), (_event, name) => {
        if (!name || name === basename(this.file)) void this.read();
      });
    } catch {
      // Polling still works.
    }
    this.poll = setInterval(() => void this.read(), this.pollMs);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
  }

  read(): Promise<void> {
    this.reading ??= this.readNow().finally(() => { this.reading = undefined; });
    return this.reading;
  }

  private async readNow(): Promise<void> {
    let text: string;
    try {
      const info = await stat(this.file);
      const signature = `${info.mtimeMs}:${info.size}`;
      if (signature === this.signature) return;
      text = await readFile(this.file, 'utf8');
      this.signature = signature;
    } catch (err) {
      this.emit('error', new Error(`cannot read ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      return;
    }
    try {
      this.emit('config', JSON.parse(text));
    } catch (err) {
      this.emit('error', new Error(`${this.file} is not valid JSON: ${(err as Error).message}`));
    }
  }
}
