/**
 * A sidecar whose start fails part-way (a port already taken) closes what it had opened: no
 * file watch, no listener outlives it (either would keep its process alive, and hold the port).
 */
import { equal, rejects } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileConfigSource, SkiffProxy } from '../../src/proxy/index.ts';
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
