/**
 * Resumption across control plane replicas: a sidecar's control client streams from replica A
 * through a stand-in for the controller's Service (a TCP forwarder), subscribes on demand and
 * takes a delta; A goes away and the Service now leads to replica B, which has never heard of
 * the proxy's subscriptions. The client re-sends them before its new stream starts, so B
 * computes the very config the proxy has: no whole config is sent, and B's later changes
 * arrive as deltas holding the subscribed Service.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ProxyConfig } from '../../src/config/index.ts';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { MeshController, type ReplicaAck } from '../../src/control/controller.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { localTraffic } from '../../src/control/traffic/backend.ts';
import { TrafficStore } from '../../src/control/traffic/store.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';
import { ControlClient } from '../../src/proxy/control-client.ts';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../../src/proxy/tls-material.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { meshYaml } from '../support/mesh.ts';
import { waitFor } from '../support/wait.ts';

const SERVICES = ['web', 'db'].map((name) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: shop}\nspec: {selector: {app: ${name}}, ports: [{port: 80, targetPort: 8080}]}\n`).join('---\n');
function snapshot(extraPort = false) {
  const yaml = meshYaml('shop', 'strict', [{ name: 'web', ports: [8080] }, { name: 'db', ports: [8080] }, { name: 'client' }], SERVICES + (extraPort ? '---\napiVersion: v1\nkind: Service\nmetadata: {name: web-admin, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 81, targetPort: 8080}]}\n' : ''));
  let n = 1;
  return snapshotFromDocuments(parseYamlText('mesh.yaml', yaml).documents.map((d) => d.value), { allocate: () => `10.9.1.${n++}` });
}

/**
 * The controller's Service: forwards every new connection to whichever replica it leads to now;
 * given several, to each in turn (as kube-proxy spreads connections over the Ready replicas).
 */
function serviceStandIn(): { port: () => number; leadTo: (...ports: number[]) => void; close: () => void } {
  let targets = [0];
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const upstream = net.connect(targets[next++ % targets.length] as number, '127.0.0.1');
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    socket.pipe(upstream).pipe(socket);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  return {
    port: () => (server.address() as net.AddressInfo).port,
    leadTo: (...ports) => {
      targets = ports;
      next = 0;
    },
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe('control plane failover: a proxy resumes its subscriptions on another replica', () => {
  let ca: CertificateAuthority;
  const replicas: { controller: MeshController; server: DistributionServer; port: number; store: TrafficStore }[] = [];
  const service = serviceStandIn();
  let client: ControlClient;
  let dir: string;
  const received: ProxyConfig[] = [];

  const replica = async () => {
    const controller = new MeshController({ debounceMs: 1, maxDelayMs: 5 });
    controller.update(snapshot());
    controller.rebuild();
    const store = new TrafficStore();
    const server = new DistributionServer({ controller, ca, host: '127.0.0.1', port: 0, traffic: { store, local: localTraffic(controller, store) } });
    const url = await server.start();
    const r = { controller, server, port: Number(new URL(url).port), store };
    replicas.push(r);
    return r;
  };

  before(async () => {
    ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    dir = mkdtempSync(join(tmpdir(), 'skiff-failover-'));
    const keys = generateKeyPair();
    const identity = 'spiffe://cluster.local/ns/shop/sa/client';
    writeFileSync(join(dir, CERT_FILE), ca.issue(createCsr(keys, identity), identity).certificatePem);
    writeFileSync(join(dir, KEY_FILE), privateKeyPem(keys.privateKey));
    writeFileSync(join(dir, CA_FILE), ca.trustBundle());
  });
  after(async () => {
    client?.stop();
    service.close();
    for (const r of replicas) {
      await r.server.close();
      r.controller.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('replica B computes the config the proxy has: nothing whole is resent, and its changes come as deltas', async () => {
    const a = await replica();
    const b = await replica();
    service.leadTo(a.port);
    client = new ControlClient({ url: `https://localhost:${service.port()}`, proxyId: 'shop/client-0', certDir: dir, trustBundle: ca.trustBundle() });
    client.on('config', (c) => {
      received.push(c as ProxyConfig);
      client.report({ hash: (c as ProxyConfig).hash });
    });
    await client.start();
    await waitFor('the first config', () => received.length >= 1);
    deepStrictEqual(received[0]?.outbound.services, [], 'on demand: nothing asked yet');
    const answer = await client.subscribe(['web']);
    deepStrictEqual(answer.hosts, ['shop/web']);
    await waitFor('the config holding web', () => received.at(-1)?.hash === answer.hash);
    equal(a.server.sentBytes.configs > 0 && a.server.sentBytes.deltas > 0, true, 'A sent the first config whole, then a delta');

    // A goes away; the Service leads to B.
    service.leadTo(b.port);
    await a.server.close();
    await waitFor('the stream on B', () => (b.controller.proxies.get('shop/client-0')?.connected ?? 0) > 0, 10_000);
    deepStrictEqual([...(b.controller.proxies.get('shop/client-0')?.demand?.services ?? [])], ['shop/web'], 'B learned the subscription before the stream');
    equal(b.controller.proxies.get('shop/client-0')?.config.hash, answer.hash, 'B computes the same version');
    equal(b.server.sentBytes.configs, 0, 'no whole config was resent');
    equal(b.controller.proxies.get('shop/client-0')?.appliedHash, answer.hash, 'the version the proxy named counts as applied on B (skiff check, Programmed)');

    // A change on B reaches the proxy as a delta that keeps web.
    const before = received.length;
    b.controller.update(snapshot(true));
    await waitFor('B\'s change', () => received.length > before, 1500).catch(() => undefined);
    equal(received.length, before, 'a new Service nobody called changes nothing for this proxy');
    const more = await client.subscribe(['web-admin']);
    await waitFor('the config holding web-admin', () => received.at(-1)?.hash === more.hash);
    deepStrictEqual(received.at(-1)?.outbound.services.map((s) => s.name), ['web', 'web-admin']);
    ok(b.server.sentBytes.deltas > 0);
    equal(b.server.sentBytes.configs, 0, 'only deltas from B');
  });

  test('a question asked while the stream reconnects waits for it; with no replica at all it fails within the bound', async () => {
    const b = replicas[1] as (typeof replicas)[number];
    service.leadTo(1); // nothing listens there
    await b.server.close();
    await waitFor('the stream down', () => !client.connected, 5000);
    const started = Date.now();
    await client.subscribe(['db']).then(() => { throw new Error('answered with no replica'); }, (err: Error) => ok(/no config stream/.test(err.message), err.message));
    const waited = Date.now() - started;
    ok(waited >= 1900 && waited < 4000, `failed after the bound, not at once (${waited} ms)`);

    // A question asked now, and a replica that comes up while it waits: it is answered.
    const asking = client.subscribe(['db']);
    const c = await replica();
    service.leadTo(c.port);
    const answer = await asking;
    deepStrictEqual(answer.hosts, ['shop/db']);
    await waitFor('the config holding db', () => received.at(-1)?.hash === answer.hash, 5000);
    ok(received.at(-1)?.outbound.services.some((s) => s.name === 'db'));
  });

  test('with two replicas behind the Service, the proxy\'s acks and traffic reach the replica it streams from, which tells the leader its subscriptions, and takes a last report after the pod left', async () => {
    client.stop();
    const [d, e] = [await replica(), await replica()];
    // Every new connection goes to the other replica: the stream to one, any other request to the next.
    service.leadTo(d.port, e.port);
    const seen: ProxyConfig[] = [];
    const spread = new ControlClient({ url: `https://localhost:${service.port()}`, proxyId: 'shop/client-0', certDir: dir, trustBundle: ca.trustBundle() });
    spread.on('config', (c) => {
      seen.push(c as ProxyConfig);
      spread.report({ hash: (c as ProxyConfig).hash });
    });
    try {
      await spread.start();
      await waitFor('the first config', () => seen.length >= 1);
      const answer = await spread.subscribe(['web']);
      await waitFor('the config holding web', () => seen.at(-1)?.hash === answer.hash);
      const streaming = [d, e].find((r) => (r.controller.proxies.get('shop/client-0')?.connected ?? 0) > 0);
      ok(streaming, 'one replica holds the stream');
      await waitFor('the ack on the streaming replica', () => streaming.controller.proxies.get('shop/client-0')?.appliedHash === answer.hash, 3000)
        .catch(() => { throw new Error(`the ack went elsewhere: ${JSON.stringify([d, e].map((r) => r.controller.proxies.get('shop/client-0')?.appliedHash ?? null))}`); });
      // What the other replica (were it the leader) learns from /v1/acks: the subscription and the version applied.
      const ack = streaming.controller.acks()['shop/client-0'] as ReplicaAck;
      deepStrictEqual(ack, { applied: answer.hash, demand: { services: ['shop/web'], tcp: false } });
      const other = streaming === d ? e : d;
      const progress = other.controller.progress(new Map([['shop/client-0', [ack]]]));
      const mine = progress.find((p) => p.id === 'shop/client-0');
      ok(mine?.upToDate, 'the other replica counts the proxy as up to date');
      deepStrictEqual(mine.outbound.services.map((s) => s.name), ['web'], 'and as a caller of web');

      // Traffic goes on the stream's connection too: that replica keeps the proxy while it
      // streams, even once its pod has left the topology (a finished Job's last report).
      const counted = (r: typeof d) => r.store.window(60_000).entries.reduce((n, x) => n + x.success, 0);
      const series = (n: number) => [{ direction: 'outbound' as const, peer: {}, service: 'shop/web', success: n, failure: 0, denied: 0, latency: [[10, n]] as [number, number][] }];
      await spread.reportTraffic(series(3));
      deepStrictEqual([counted(streaming), counted(other)], [3, 0], 'the report reached the streaming replica');
      const gone = snapshotFromDocuments(parseYamlText('mesh.yaml', meshYaml('shop', 'strict', [{ name: 'web', ports: [8080] }, { name: 'db', ports: [8080] }], SERVICES)).documents.map((x) => x.value), { allocate: () => '10.9.1.9' });
      for (const r of [d, e]) {
        r.controller.update(gone);
        r.controller.rebuild();
      }
      equal(other.controller.known('shop/client-0') !== undefined, true, 'the other replica still knows it, for the grace');
      await spread.reportTraffic(series(4));
      deepStrictEqual([counted(streaming), counted(other)], [7, 0], 'the last report after the pod left');
    } finally {
      spread.stop();
    }
  });
});
