/**
 * A sidecar whose start fails part-way (a port already taken) closes what it had opened: no
 * file watch, no listener outlives it (either would keep its process alive, and hold the port).
 * A sidecar started before its certificate exists waits for it without reporting a problem.
 */
import { deepEqual, equal, rejects } from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventLevel, FileConfigSource, SkiffProxy } from '../../src/proxy/index.ts';
import { waitFor } from '../support/wait.ts';
import { ADMIN_PORT, meshYaml, MESH_PORT, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';
import { claimSubnet } from '../support/subnet.ts';

const listening = (host: string, port: number) => new Promise<net.Server>((resolve, reject) => {
  const server = net.createServer();
  server.once('error', reject);
  server.listen(port, host, () => resolve(server));
});
const watches = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;

test('a start that fails on a taken port leaves no watch and no listener behind', async () => {
  // A real config and certificate, taken from a one-pod mesh, for a sidecar on a subnet of its own.
  const mesh = await TestMesh.start(meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080] }]));
  const claim = await claimSubnet(100, 149);
  const host = `127.${claim.subnet}.0.1`;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-start-failure-'));
  const taken = await listening(host, OUTBOUND_PORT);
  try {
    const pod = mesh.pod('web');
    const config = pod.proxy?.state?.config;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const before = watches();
    const proxy = new SkiffProxy({
      config: new FileConfigSource(join(dir, 'config.json'), 100),
      certDir: join(pod.dir, 'certs'),
      inbound: { host, port: MESH_PORT }, outbound: { host, port: OUTBOUND_PORT }, admin: { host, port: ADMIN_PORT },
      appHost: host,
    });
    await rejects(proxy.start(), /EADDRINUSE/);
    await new Promise((r) => setTimeout(r, 50)); // a closed handle leaves the list after its close callback
    equal(watches(), before, 'the config and certificate watches were stopped');
    // The inbound listener, opened before the outbound one failed, was closed: its port is free.
    const again = await listening(host, MESH_PORT);
    again.close();
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
    claim.release();
    await mesh.close();
  }
});

test('no certificate yet at start is waited for, not reported as a problem; a bad or vanished one after is', async () => {
  const mesh = await TestMesh.start(meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080] }]));
  const claim = await claimSubnet(100, 149);
  const host = `127.${claim.subnet}.0.1`;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cert-wait-'));
  const events: string[] = [];
  let proxy: SkiffProxy | undefined;
  try {
    const pod = mesh.pod('web');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(pod.proxy?.state?.config));
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    proxy = new SkiffProxy({
      config: new FileConfigSource(join(dir, 'config.json'), 100),
      certDir: certs,
      inbound: { host, port: MESH_PORT }, outbound: { host, port: OUTBOUND_PORT }, admin: { host, port: ADMIN_PORT },
      appHost: host,
      log: (event) => { if (event.startsWith('certificate-')) events.push(event); },
    });
    await proxy.start();
    await waitFor('the first check of the empty folder', () => events.length > 0);
    deepEqual(events, ['certificate-awaited']);
    for (const file of readdirSync(join(pod.dir, 'certs'))) copyFileSync(join(pod.dir, 'certs', file), join(certs, file));
    await proxy.reloadCertificates();
    await waitFor('the certificate loaded', () => events.includes('certificate-loaded'));
    writeFileSync(join(certs, 'cert.pem'), 'not a certificate');
    await proxy.reloadCertificates();
    await waitFor('the bad certificate reported', () => events.includes('certificate-rejected'));
    // The bad file may be reported more than once (read half written, then whole): count from here.
    const rejections = () => events.filter((e) => e === 'certificate-rejected').length;
    const before = rejections();
    for (const file of readdirSync(certs)) rmSync(join(certs, file));
    await proxy.reloadCertificates();
    await waitFor('the vanished certificate reported', () => rejections() > before);
    equal(eventLevel('certificate-rejected'), 'warn');
    equal(eventLevel('certificate-awaited'), 'info');
  } finally {
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
    claim.release();
    await mesh.close();
  }
});
