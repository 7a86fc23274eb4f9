/**
 * The sidecar's ack stream against control planes that do not take it: one older than the ack
 * stream (404) and one that ends it with an error line. `send` says no, so the caller posts
 * the ack; against one that takes it, acks are lines of the one request, each written after
 * its delay, a newer one in that time in its place, and one still waiting written at close.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { Client } from 'undici';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';
import { AckChannel } from '../../src/proxy/ack-channel.ts';
import { waitFor } from '../support/wait.ts';

describe('the ack channel falls back when the control plane does not take the ack stream', () => {
  let server: http2.Http2SecureServer;
  let url: string;
  let ca: string;
  let behaviour: 'absent' | 'takes' | 'refuses-a-line' = 'absent';
  const lines: string[] = [];

  before(async () => {
    const authority = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    const keys = generateKeyPair();
    const identity = 'spiffe://cluster.local/ns/skiff-system/sa/skiff-controller';
    const cert = authority.issue(createCsr(keys, identity), identity, undefined, { dnsNames: ['localhost'] }).certificatePem;
    ca = authority.trustBundle();
    server = http2.createSecureServer({ cert, key: privateKeyPem(keys.privateKey) });
    server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      if (behaviour === 'absent' || !String(headers[':path']).startsWith('/v1/ack-stream')) {
        stream.respond({ ':status': 404, 'content-type': 'application/json' });
        return void stream.end('{"message":"Route POST:/v1/ack-stream not found","error":"Not Found","statusCode":404}');
      }
      stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        lines.push(...chunk.split('\n').filter(Boolean));
        if (behaviour === 'refuses-a-line') stream.end('{"error":"ack stream of shop/a-0 ended: a line is not JSON"}\n');
      });
      stream.on('end', () => { if (!stream.closed) stream.end(); });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://localhost:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const channelTo = (delayMs = 50) => {
    const client = new Client(url, { allowH2: true, connect: { ca } });
    const events: string[] = [];
    const channel = new AckChannel(client, url, 'shop/a-0', (event) => events.push(event), delayMs);
    return { client, channel, events };
  };

  test('a control plane older than the ack stream: refused once, every ack is then the caller\'s to post', async () => {
    behaviour = 'absent';
    const { client, channel, events } = channelTo();
    await waitFor('the refusal', () => events.includes('ack-stream-refused'), 3000);
    equal(channel.send({ proxy: 'shop/a-0', hash: 'a'.repeat(64) }), false);
    channel.close();
    await client.close();
  });

  test('a control plane that takes it: acks are lines of the one request, the latest after the delay', async () => {
    behaviour = 'takes';
    lines.length = 0;
    const { client, channel, events } = channelTo(300);
    equal(channel.send({ proxy: 'shop/a-0', hash: 'b'.repeat(64) }), false, 'not before the control plane answered');
    await waitFor('the stream open', () => channel.open, 3000);
    const sentAt = performance.now();
    ok(channel.send({ proxy: 'shop/a-0', hash: 'c'.repeat(64) }));
    ok(channel.send({ proxy: 'shop/a-0', error: 'refused' }));
    await waitFor('a line', () => lines.length > 0, 3000);
    const waited = performance.now() - sentAt;
    ok(waited >= 290, `written after ${waited.toFixed(0)} ms, not before the delay`);
    await new Promise((r) => setTimeout(r, 700));
    deepStrictEqual(lines.map((l) => JSON.parse(l) as unknown), [{ proxy: 'shop/a-0', error: 'refused' }], 'the newer ack took the place of the older');
    ok(channel.send({ proxy: 'shop/a-0', hash: 'd'.repeat(64) }));
    await waitFor('the next line', () => lines.length === 2, 3000);
    deepStrictEqual(JSON.parse(lines[1] as string), { proxy: 'shop/a-0', hash: 'd'.repeat(64) });
    deepStrictEqual(events, ['ack-stream-opened']);
    channel.close();
    equal(channel.send({ proxy: 'shop/a-0', hash: 'e'.repeat(64) }), false, 'closed');
    await client.close();
  });

  test('an ack still waiting when the channel closes is written before the stream ends', async () => {
    behaviour = 'takes';
    lines.length = 0;
    const { client, channel } = channelTo(60_000);
    await waitFor('the stream open', () => channel.open, 3000);
    ok(channel.send({ proxy: 'shop/a-0', hash: 'f'.repeat(64) }));
    channel.close();
    await waitFor('the line', () => lines.length === 1, 3000);
    deepStrictEqual(JSON.parse(lines[0] as string), { proxy: 'shop/a-0', hash: 'f'.repeat(64) });
    await client.close();
  });

  test('a control plane that ends the stream with an error line: the channel closes and says why', async () => {
    behaviour = 'refuses-a-line';
    const { client, channel, events } = channelTo();
    await waitFor('the stream open', () => channel.open, 3000);
    ok(channel.send({ proxy: 'shop/a-0', hash: '1'.repeat(64) }));
    await waitFor('the end', () => !channel.open, 3000);
    ok(events.includes('ack-stream-ended'), events.join(','));
    equal(channel.send({ proxy: 'shop/a-0', hash: '2'.repeat(64) }), false);
    await client.close();
  });
});
