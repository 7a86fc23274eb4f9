/**
 * Where configs come from. The proxy depends only on this interface; a file source lives
 * here, the control plane's stream client implements the same contract.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { SubscribeAnswer, TrafficSeries } from '../config/index.ts';
import { FileWatch, signatureOf } from './file-watch.ts';

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
  /** Sends one interval's traffic series to the control plane (config/traffic.ts); rejects when it could not. */
  reportTraffic?(series: TrafficSeries[]): Promise<void>;
  /** Subscribes to the Services hosts name (a config with `outbound.onDemand`); the new config follows as a `config` event. */
  subscribe?(hosts: string[]): Promise<SubscribeAnswer>;
  /** Stops the Services the application no longer calls (they were subscribed to). */
  unsubscribe?(services: string[]): Promise<void>;
  /** The Services subscribed to so far. */
  subscriptions?(): ReadonlySet<string>;
}

/** A JSON file, re-read when it changes (watch plus a poll, for filesystems that do not notify). */
export class FileConfigSource extends EventEmitter<ConfigSourceEvents> implements ConfigSource {
  private signature = '';
  private readonly file: string;
  private readonly watch: FileWatch;

  constructor(file: string, pollMs = 500) {
    super();
    this.file = file;
    this.watch = new FileWatch(dirname(file), () => this.readNow(), pollMs, [basename(file)]);
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  read(): Promise<void> {
    return this.watch.trigger();
  }

  private async readNow(): Promise<void> {
    let text: string;
    try {
      const signature = await signatureOf([this.file]);
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
