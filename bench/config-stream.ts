/**
 * bench/config-stream: a config stream read as a sidecar reads it (bench/propagation and
 * bench/scale share it): Server-Sent Events split into events, whole configs taken as they are,
 * deltas applied to the config held (config/delta.ts, hash checked; a delta that does not apply
 * ends the stream with an error). Acks go as the sidecar sends them: on the ack stream of the
 * stream's connection, each after the sidecar's delay (ack-channel.ts), or (ACKS=post, as
 * sidecars before the ack stream) one POST /v1/ack each, at once.
 */
import { request, type Dispatcher } from 'undici';
import { applyDelta, DELTA_EVENT, type ConfigDelta, type ProxyConfig } from '../src/config/index.ts';
import { ACK_DELAY_MS, AckChannel } from '../src/proxy/ack-channel.ts';

export const ACKS = process.env.ACKS === 'post' ? 'post' : 'stream';
/** How long an ack waits on the ack stream: the sidecar's delay (ACK_DELAY_MS=0: at once). */
export const ACK_DELAY = Number(process.env.ACK_DELAY_MS ?? ACK_DELAY_MS);

const DATA_LINE = /^data:(.*)$/m;
const DELTA_LINE = new RegExp(`^event: ${DELTA_EVENT}$`, 'm');

/** How a simulated sidecar acks on its connection: `ack(hash)` resolves once the ack is written (stream) or answered (post). */
export function acker(dispatcher: Dispatcher, base: string, proxy: string): { ack(hash: string): Promise<void>; close(): void } {
  const channel = ACKS === 'stream' ? new AckChannel(dispatcher, base, proxy, () => undefined, ACK_DELAY) : undefined;
  return {
    async ack(hash) {
      if (channel?.send({ proxy, hash })) return;
      const res = await request(`${base}/v1/ack`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ proxy, hash }) });
      await res.body.dump();
    },
    close: () => channel?.close(),
  };
}

/**
 * Calls `onConfig` with each config, when its bytes arrived and the event's size; events that
 * arrive meanwhile are applied and wait for it, in order. Resolves when the stream ends;
 * rejects when it fails, `onConfig` throws or a delta does not apply. Read with 'data' events,
 * not an async iterator: a simulated sidecar, one of a thousand on the same cores, should cost
 * what the protocol costs.
 */
export function readConfigStream(body: NodeJS.ReadableStream, id: string, now: () => number, onConfig: (config: ProxyConfig, arrived: number, bytes: number) => unknown): Promise<void> {
  let buffer = '';
  let held: ProxyConfig | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const take = (block: string, arrived: number) => {
      // The event's one data line (comments and heartbeats have none).
      const data = DATA_LINE.exec(block);
      if (!data) return;
      const json = JSON.parse(data[1] as string) as unknown;
      if (DELTA_LINE.test(block)) {
        const applied = held ? applyDelta(held, json as ConfigDelta) : { problem: 'no base' };
        if (!('config' in applied)) throw new Error(`${id}: ${applied.problem}`);
        held = applied.config;
      } else {
        held = json as ProxyConfig;
      }
      const config = held;
      queue = queue.then(() => onConfig(config, arrived, block.length)).catch(reject);
    };
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      const arrived = now();
      buffer += chunk;
      let end: number;
      try {
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          take(block, arrived);
        }
      } catch (err) {
        reject(err as Error);
      }
    });
    body.on('end', () => void queue.then(() => resolve()));
    body.on('error', reject);
  });
}
