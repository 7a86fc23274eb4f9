/**
 * The config stream's own certificate is renewed while the control plane runs: a control plane
 * that ran past its certificate's lifetime would be refused by every sidecar that reconnects.
 * Here the lifetime is 4 s: new connections are served a new certificate (same identity and
 * names, from the mesh CA) before the old one expires, and a stream opened under the old one
 * keeps receiving configs.
 */
import { equal, ok } from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { MeshController } from '../../src/control/controller.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { meshYaml } from '../support/mesh.ts';
import { waitFor } from '../support/wait.ts';

const TTL_MS = 4000;

describe('the config stream\'s certificate is renewed while the control plane runs', () => {
  const controller = new MeshController({ debounceMs: 1, maxDelayMs: 5 });
  const events: string[] = [];
  let ca: CertificateAuthority;
  let server: DistributionServer;
  let port: number;
  let agent: Agent;

  /** The certificate a new TLS connection is served, verified against the mesh trust bundle. */
  const served = () => new Promise<X509Certificate>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.trustBundle(), minVersion: 'TLSv1.3' }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw));
    });
    socket.on('error', reject);
  });

  before(async () => {
    ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    const yaml = meshYaml('shop', 'strict', [{ name: 'web', ports: [8080] }]);
    controller.update(snapshotFromDocuments(parseYamlText('mesh.yaml', yaml).documents.map((d) => d.value), { allocate: () => '10.9.3.1' }));
    controller.rebuild();
    server = new DistributionServer({ controller, ca, host: '127.0.0.1', port: 0, servingTtlMs: TTL_MS, log: (event) => events.push(event) });
    port = Number(new URL(await server.start()).port);
    const keys = generateKeyPair();
    const identity = 'spiffe://cluster.local/ns/shop/sa/web';
    agent = new Agent({ connect: { ca: ca.trustBundle(), cert: ca.issue(createCsr(keys, identity), identity).certificatePem, key: privateKeyPem(keys.privateKey), servername: 'localhost' }, pipelining: 0 });
  });
  after(async () => {
    await agent.close();
    await server.close();
    controller.stop();
  });

  test('new connections get a new certificate at half its lifetime; an open stream keeps going', async () => {
    const first = await served();
    ok(first.verify(new X509Certificate(ca.trustBundle()).publicKey), 'issued by the mesh CA');
    const stream = await request(`https://localhost:${port}/v1/config?proxy=shop/web-0`, { dispatcher: agent, bodyTimeout: 0 });
    equal(stream.statusCode, 200);
    let text = '';
    stream.body.on('data', (c: Buffer) => { text += String(c); });
    await waitFor('the first config on the stream', () => text.includes('event: config'), 3000);

    await waitFor('a renewal', () => events.includes('config-stream-certificate-renewed'), TTL_MS);
    const second = await served();
    ok(second.serialNumber !== first.serialNumber, 'another certificate');
    ok(new Date(second.validTo) > new Date(first.validTo), 'that expires later');
    equal(second.subjectAltName, first.subjectAltName, 'the same identity and names');
    ok(new Date(first.validTo).getTime() > Date.now(), 'renewed before the first one expired');

    // The stream opened under the first certificate still carries configs.
    const before = text.length;
    controller.update(snapshotFromDocuments(parseYamlText('mesh.yaml', meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080] }])).documents.map((d) => d.value), { allocate: () => '10.9.3.1' }));
    await waitFor('the next config on the open stream', () => text.length > before && text.slice(before).includes('permissive'), 3000);
    stream.body.destroy();
  });
});
