/**
 * The sidecar's acks as lines of one long-lived HTTP/2 request (POST /v1/ack-stream), on the
 * connection that carries its config stream, so the replica that computed a config hears that it
 * was applied. An ack is then one DATA frame instead of a request and its answer, on both sides.
 *
 * Until the control plane has answered the request (and forever if it refuses it: one older
 * than the ack stream answers 404), `send` says no and the caller posts the ack on its own.
 * An ack written to a stream that then breaks is lost, as a lost POST is: the next config, or
 * the `have` of the next config stream, reports again.
 *
 * An ack waits 150 ms before it is written, and a newer one in that time takes its place. A
 * change reaches many proxies at once: their acks then come after the configs, not among
 * them. Sidecars sharing a node's cores apply the config first and do the bookkeeping after,
 * and the control plane reads the acks once it has written the configs. Only the latest
 * counts: the control plane's status asks which version a proxy has applied, not which it
 * passed through. The delay is the same for every ack, not jittered: the acks keep the spread
 * their configs arrived with, so the control plane still reads several per turn of its event
 * loop (jittered over 150-300 ms they cost it ~25 % more CPU per change, and each sidecar
 * a timer of its own).
 */
import { PassThrough } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { ACK_STREAM_CONTENT_TYPE, ACK_STREAM_PATH, type Ack } from '../config/index.ts';

/** How long an ack waits before it is written. */
export const ACK_DELAY_MS = 150;

export class AckChannel {
  private readonly body = new PassThrough();
  private state: 'opening' | 'open' | 'closed' = 'opening';
  /** The ack waiting to be written, and its timer. */
  private pending: Ack | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly delayMs: number;

  /** Opens the stream on `dispatcher` (an HTTP/2 connection to the control plane at `url`); `delayMs`: how long an ack waits. */
  constructor(dispatcher: Dispatcher, url: string, proxyId: string, log: (event: string, detail: Record<string, unknown>) => void, delayMs = ACK_DELAY_MS) {
    this.delayMs = delayMs;
    void (async () => {
      const res = await request(`${url}${ACK_STREAM_PATH}?proxy=${encodeURIComponent(proxyId)}`, {
        method: 'POST', dispatcher, body: this.body, headers: { 'content-type': ACK_STREAM_CONTENT_TYPE }, headersTimeout: 10_000, bodyTimeout: 0,
      });
      if (res.statusCode !== 200) {
        log('ack-stream-refused', { status: res.statusCode, error: (await res.body.text().catch(() => '')).slice(0, 200) });
        return;
      }
      if (this.state === 'closed') return void res.body.destroy();
      this.state = 'open';
      log('ack-stream-opened', {});
      // The control plane answers only to end the stream: with an error line when it refused a line.
      const said = await res.body.text().catch(() => '');
      if (said.trim() && this.state === 'open') log('ack-stream-ended', { said: said.slice(0, 300) });
    })().catch(() => undefined).finally(() => this.close());
  }

  get open(): boolean {
    return this.state === 'open';
  }

  /** Takes the ack when the stream is open (written after the delay, unless a newer one replaces it); false when it is not (the caller posts it). */
  send(ack: Ack): boolean {
    if (this.state !== 'open' || !this.body.writable) return false;
    this.pending = ack;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.delayMs);
      this.timer.unref();
    }
    return true;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const ack = this.pending;
    this.pending = undefined;
    if (ack && this.body.writable) this.body.write(`${JSON.stringify(ack)}\n`);
  }

  /** Ends the stream; an ack still waiting is written first (lost if the connection is gone). */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.flush();
    this.body.end();
  }
}
