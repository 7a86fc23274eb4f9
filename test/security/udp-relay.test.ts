/**
 * The inbound datagram relay, from the caller's side, on loopback addresses standing for pods
 * (127.0.0.2 is a pod of the allowed identity, 127.0.0.3 a pod of no identity, 127.0.0.4 a pod
 * of an identity allowed TCP only). The relay decides with the same compiled inbound config the
 * sidecar uses; the real capture path (iptables in a pod's namespace) is capture.test.ts.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import dgram, { type Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import { compileDatagramSources, compileInbound, type InboundConfig } from '../../src/config/index.ts';
import type { ProxyState } from '../../src/proxy/state.ts';
import { DatagramRelay, type DatagramResult } from '../../src/proxy/udp-relay.ts';

const A = 'spiffe://cluster.local/ns/shop/sa/a';
const B = 'spiffe://cluster.local/ns/shop/sa/b';
const APP_PORT = 19093 + (process.pid % 500);
const RELAY_PORT = APP_PORT + 1000;

const strict: InboundConfig = {
  accessMode: 'strict',
  ports: [{ port: APP_PORT, protocol: 'udp', services: ['shop/echo'] }],
  rules: [
    { via: 'shop/a-udp', sources: [A], protocols: ['udp'], ports: [APP_PORT] },
    { via: 'shop/b-tcp', sources: [B], protocols: ['tcp'], ports: [APP_PORT] },
  ],
  datagramSources: [{ identity: A, addresses: ['127.0.0.2'] }, { identity: B, addresses: ['127.0.0.4'] }],
};
const stateOf = (inbound: InboundConfig) => ({
  datagramPorts: new Set(inbound.ports.filter((p) => p.protocol === 'udp').map((p) => p.port)),
  decide: compileInbound(inbound),
  datagramIdentity: compileDatagramSources(inbound),
}) as unknown as ProxyState;

let state: ProxyState | undefined;
const counted = new Map<DatagramResult, number>();
let relay: DatagramRelay;
let app: Socket;
const appSaw: string[] = [];

before(async () => {
  app = dgram.createSocket('udp4');
  app.on('message', (m, from) => {
    appSaw.push(from.address);
    app.send(Buffer.concat([Buffer.from('echo:'), m]), from.port, from.address);
  });
  await new Promise<void>((r) => app.bind(APP_PORT, '127.0.0.1', r));
  relay = new DatagramRelay({
    ports: new Map([[APP_PORT, RELAY_PORT]]), host: '127.0.0.1', appHost: '127.0.0.1', state: () => state,
    count: (_port, result) => counted.set(result, (counted.get(result) ?? 0) + 1), maxSessions: 3,
  });
  await relay.start();
});
after(() => {
  relay.stop();
  app.close();
});

/** Sends `payload` from `address` (a fresh source port) and waits up to `waitMs` for an answer. */
async function call(address: string, payload: Buffer | string, waitMs = 400): Promise<string | undefined> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, address, r));
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      socket.once('message', (m, from) => {
        clearTimeout(timer);
        resolve(from.port === RELAY_PORT ? m.toString() : `from an unexpected port ${from.port}`);
      });
      socket.send(payload, RELAY_PORT, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

test('before any config nothing is relayed', async () => {
  state = undefined;
  equal(await call('127.0.0.2', 'early', 200), undefined);
  equal(counted.get('no-port'), 1);
});

test('a datagram from a pod of an identity a UDP rule allows is relayed and answered; the application sees the relay', async () => {
  state = stateOf(strict);
  equal(await call('127.0.0.2', 'hello'), 'echo:hello');
  deepEqual(appSaw, ['127.0.0.1']);
});

test('an address that stands for no identity, and an identity allowed only TCP, are dropped unanswered', async () => {
  state = stateOf(strict);
  const before = appSaw.length;
  equal(await call('127.0.0.3', 'forged'), undefined);
  equal(await call('127.0.0.4', 'tcp only'), undefined);
  equal(appSaw.length, before, 'the application saw neither');
  equal(counted.get('denied'), 2);
});

test('a flood from a denied address opens no session; empty and 60 KB datagrams pass when allowed', async () => {
  state = stateOf(strict);
  relay.sweep(Infinity);
  const flood = dgram.createSocket('udp4');
  await new Promise<void>((r) => flood.bind(0, '127.0.0.3', r));
  for (let i = 0; i < 2000; i++) flood.send('x', RELAY_PORT, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 300));
  flood.close();
  equal(relay.sessions().get(APP_PORT), 0);
  equal(await call('127.0.0.2', ''), 'echo:');
  const big = Buffer.alloc(60_000, 'z');
  equal((await call('127.0.0.2', big))?.length, 60_005);
});

test('sessions are capped per port; idle ones end', async () => {
  state = stateOf(strict);
  relay.sweep(Infinity);
  const sockets = await Promise.all([1, 2, 3, 4].map(async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.2', r));
    return s;
  }));
  const before = counted.get('overflow') ?? 0;
  for (const s of sockets) s.send('hi', RELAY_PORT, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 300));
  equal(relay.sessions().get(APP_PORT), 3);
  equal(counted.get('overflow'), before + 1);
  for (const s of sockets) s.close();
  relay.sweep(Date.now() + 1);
  equal(relay.sessions().get(APP_PORT), 0);
});

test('a config that takes the permission away stops an open session at its next datagram', async () => {
  state = stateOf(strict);
  relay.sweep(Infinity);
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.2', r));
  const answers: string[] = [];
  socket.on('message', (m) => answers.push(m.toString()));
  socket.send('one', RELAY_PORT, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 200));
  state = stateOf({ ...strict, rules: [], datagramSources: [] });
  socket.send('two', RELAY_PORT, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 200));
  socket.close();
  deepEqual(answers, ['echo:one']);
});

test('in a permissive namespace any address is relayed', async () => {
  state = stateOf({ ...strict, accessMode: 'permissive', rules: [], datagramSources: [] });
  equal(await call('127.0.0.3', 'open'), 'echo:open');
  ok((counted.get('answered') ?? 0) >= 4);
});
