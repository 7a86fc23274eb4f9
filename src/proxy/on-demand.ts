/**
 * On-demand outbound (ARCHITECTURE.md, "On-demand outbound"): when the config says
 * `outbound.onDemand` and the application calls a host the config does not hold, the proxy
 * asks the control plane once (POST /v1/subscribe on the stream's connection), waits for the
 * config that holds the Service to be applied, and from then on is sent that Service's changes.
 *
 * - Hosts asked in the same turn of the event loop go in one request (at most 64).
 * - Concurrent requests for one host share one question.
 * - A host the mesh does not have is remembered for NEGATIVE_TTL_MS, so traffic to places
 *   outside the mesh (captured pass-through) does not ask again per connection.
 * - Every question is bounded: RESOLVE_TIMEOUT_MS from asking to the config applied. A
 *   question asked while the stream reconnects waits for it within that bound; a control
 *   plane that stays away fails the question (the request gets 502 unknown-host and the
 *   proxy keeps serving what it has).
 * - A Service the application has not called for IDLE_MS is dropped (the proxy is no longer
 *   sent it; a later call asks again), so what a long-lived proxy holds follows what it uses.
 */
import type { SubscribeAnswer } from '../config/index.ts';
import type { ProxyState } from './state.ts';

export const RESOLVE_TIMEOUT_MS = 2000;
export const NEGATIVE_TTL_MS = 5000;
export const IDLE_MS = 10 * 60_000;
const MAX_BATCH = 64;
const MAX_NEGATIVE = 4096;

export type Resolution = 'found' | 'unknown' | 'failed';

export interface OnDemandOptions {
  /** Asks the control plane (ControlClient.subscribe). */
  subscribe: (hosts: string[]) => Promise<SubscribeAnswer>;
  /** The state in force. */
  state: () => ProxyState | undefined;
  /** Counts one answered question, with the time from asking to usable (seconds), and the host asked about. */
  observe?: (result: Resolution, seconds: number, name: string) => void;
  /** The Services subscribed to, and how to drop some (ControlClient); absent: nothing is dropped. */
  subscriptions?: () => ReadonlySet<string>;
  unsubscribe?: (services: string[]) => Promise<void>;
  /** How long a Service may go uncalled before it is dropped (default IDLE_MS). */
  idleMs?: number;
  now?: () => number;
}

interface Waiter {
  name: string;
  hash: string;
  done: () => void;
}

export class OnDemandResolver {
  private readonly o: OnDemandOptions;
  private readonly pending = new Map<string, Promise<Resolution>>();
  private readonly negative = new Map<string, number>();
  private batch: { hosts: string[]; settle: Promise<SubscribeAnswer> } | undefined;
  private readonly waiters = new Set<Waiter>();
  /** When each subscribed Service (`ns/name`) was last called. */
  private readonly used = new Map<string, number>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: OnDemandOptions) {
    this.o = options;
    if (options.unsubscribe && options.subscriptions) {
      const idle = options.idleMs ?? IDLE_MS;
      this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, Math.max(1000, idle / 2)));
      this.sweeper.unref();
    }
  }

  /** The application called a Service (`ns/name`, the string the request path builds anyway). */
  touch(service: string): void {
    this.used.set(service, this.now());
  }

  /** Drops the subscribed Services not called for the idle time; returns them. */
  async sweep(): Promise<string[]> {
    const subscribed = this.o.subscriptions?.();
    if (!subscribed || !this.o.unsubscribe) return [];
    const cutoff = this.now() - (this.o.idleMs ?? IDLE_MS);
    const idle: string[] = [];
    for (const key of subscribed) {
      const at = this.used.get(key);
      if (at === undefined) this.used.set(key, this.now()); // subscribed before this proxy counted (resumed): from now
      else if (at < cutoff) idle.push(key);
    }
    for (const key of this.used.keys()) if (!subscribed.has(key)) this.used.delete(key);
    for (const key of idle) this.used.delete(key);
    if (idle.length > 0) await this.o.unsubscribe(idle).catch(() => undefined);
    return idle;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /**
   * Makes `name` (lower case, no port: a parsed authority's name) known to the proxy if the
   * mesh has it: 'found' once the config holding it is applied, 'unknown' when the mesh has no
   * such Service (remembered for a while), 'failed' when the control plane did not answer in time.
   */
  resolve(name: string): Promise<Resolution> {
    const until = this.negative.get(name);
    if (until !== undefined) {
      if (until > this.now()) return Promise.resolve('unknown');
      this.negative.delete(name);
    }
    let answer = this.pending.get(name);
    if (!answer) {
      answer = this.ask(name).finally(() => this.pending.delete(name));
      this.pending.set(name, answer);
    }
    return answer;
  }

  /** The proxy applied a new config: wake the questions it answers. */
  stateChanged(): void {
    const state = this.o.state();
    if (!state) return;
    for (const w of this.waiters) if (state.config.hash === w.hash || state.hosts.knows(w.name)) w.done();
  }

  private async ask(name: string): Promise<Resolution> {
    const started = performance.now();
    const finish = (result: Resolution) => {
      this.o.observe?.(result, (performance.now() - started) / 1000, name);
      return result;
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'failed'>((resolve) => {
      timer = setTimeout(() => resolve('failed'), RESOLVE_TIMEOUT_MS);
    });
    try {
      return finish(await Promise.race([this.askAndWait(name), deadline]));
    } finally {
      clearTimeout(timer);
      for (const w of this.waiters) if (w.name === name) this.waiters.delete(w);
    }
  }

  private async askAndWait(name: string): Promise<Resolution> {
    let answer: SubscribeAnswer;
    let index: number;
    try {
      ({ answer, index } = await this.inBatch(name));
    } catch {
      return 'failed';
    }
    const service = answer.hosts[index];
    if (service !== null && service !== undefined) this.touch(service);
    if (service === null || service === undefined) {
      if (this.negative.size >= MAX_NEGATIVE) this.negative.delete(this.negative.keys().next().value as string);
      this.negative.set(name, this.now() + NEGATIVE_TTL_MS);
      return 'unknown';
    }
    const state = this.o.state();
    if (state && (state.config.hash === answer.hash || state.hosts.knows(name))) return 'found';
    await new Promise<void>((done) => this.waiters.add({ name, hash: answer.hash, done }));
    return 'found';
  }

  /** Joins the question being gathered this turn, or starts one. */
  private async inBatch(name: string): Promise<{ answer: SubscribeAnswer; index: number }> {
    if (!this.batch || this.batch.hosts.length >= MAX_BATCH) {
      const hosts: string[] = [];
      const settle = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.batch?.hosts === hosts) this.batch = undefined;
        return this.o.subscribe(hosts);
      });
      this.batch = { hosts, settle };
    }
    const { hosts, settle } = this.batch;
    const index = hosts.push(name) - 1;
    const answer = await settle;
    if (answer.hosts.length !== hosts.length) throw new Error('the control plane answered for other hosts than asked');
    return { answer, index };
  }
}
