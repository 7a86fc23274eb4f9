/**
 * The sidecar's acks as lines of one long-lived HTTP/2 request (POST /v1/ack-stream), on the
 * connection that carries its config stream, so the replica that computed a config hears that it
 * was applied. An ack is then one DATA frame instead of a request and its answer, on both sides.
 *
 * Until the control plane has answered the request (and forever if it refuses it: one older
 * than the ack stream answers 404), `send` says no and the caller posts the ack on its own.
 * An ack written to a stream that then breaks is lost, as a lost POST is: the next config, or
 * the `have` of the next config stream, reports again.
 */
import { PassThrough } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { ACK_STREAM_CONTENT_TYPE, ACK_STREAM_PATH, type Ack } from '../config/index.ts';

export class AckChannel {
  private readonly body = new PassThrough();
  private state: 'opening' | 'open' | 'closed' = 'opening';

  /** Opens the stream on `dispatcher` (an HTTP/2 connection to the control plane at `url`). */
  constructor(dispatcher: Dispatcher, url: string, proxyId: string, log: (event: string, detail: Record<string, unknown>) => void) {
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

  /** Writes the ack when the stream is open; false when it is not (the caller posts it). */
  send(ack: Ack): boolean {
    if (this.state !== 'open' || !this.body.writable) return false;
    this.body.write(`${JSON.stringify(ack)}\n`);
    return true;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.body.end();
  }
}
