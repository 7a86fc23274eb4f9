/**
 * bench/config-stream: a config stream read as a sidecar reads it (bench/propagation and
 * bench/scale share it): Server-Sent Events split into events, whole configs taken as they are,
 * deltas applied to the config held (config/delta.ts, hash checked; a delta that does not apply
 * ends the stream with an error). Acks go as the sidecar sends them: on the ack stream of the
 * stream's connection, or (ACKS=post, as sidecars before it) one POST /v1/ack each.
 */
import { request, type Dispatcher } from 'undici';
import { applyDelta, type ConfigDelta, type ProxyConfig } from '../src/config/index.ts';
import { AckChannel } from '../src/proxy/ack-channel.ts';

export const ACKS = process.env.ACKS === 'post' ? 'post' : 'stream';

/** How a simulated sidecar acks on its connection: `ack(hash)` resolves once the ack is written (stream) or answered (post). */
export function acker(dispatcher: Dispatcher, base: string, proxy: string): { ack(hash: string): Promise<void>; close(): void } {
  const channel = ACKS === 'stream' ? new AckChannel(dispatcher, base, proxy, () => undefined) : undefined;
  return {
    async ack(hash) {
      if (channel?.send({ proxy, hash })) return;
      const res = await request(`${base}/v1/ack`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ proxy, hash }) });
      await res.body.dump();
    },
    close: () => channel?.close(),
  };
}

/** Calls `onConfig` with each config, when its bytes arrived and the event's size; awaits it before the next. */
export async function readConfigStream(body: AsyncIterable<unknown>, id: string, now: () => number, onConfig: (config: ProxyConfig, arrived: number, bytes: number) => unknown): Promise<void> {
  let buffer = '';
  let held: ProxyConfig | undefined;
  for await (const chunk of body) {
    const arrived = now();
    buffer += String(chunk);
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      const data = lines.find((l) => l.startsWith('data:'));
      if (!data) continue;
      if (lines.includes('event: delta')) {
        const applied = held ? applyDelta(held, JSON.parse(data.slice(5)) as ConfigDelta) : { problem: 'no base' };
        if (!('config' in applied)) throw new Error(`${id}: ${applied.problem}`);
        held = applied.config;
      } else {
        held = JSON.parse(data.slice(5)) as ProxyConfig;
      }
      await onConfig(held, arrived, block.length);
    }
  }
}
