/**
 * `skiff proxy` with its default listeners, run in a real network namespace as a pod would
 * be: from another "pod" (the host side of a veth pair) the outbound listener and the full
 * admin are unreachable (no borrowing this pod's identity, no reading its config), the health
 * listener serves only /ready, /live, /metrics and the application's TCP probes for the ports it
 * was given (no port scanner for other pods; checks that hang are bounded), and the mesh inbound
 * port is open.
 * Needs root (ip netns); CI runs as root.
 */
import { equal, ok } from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PORTS } from '../../src/lib/ports.ts';
import { CHECK_TIMEOUT_MS, MAX_CHECKS } from '../../src/proxy/app-probe.ts';
import { buildTopology } from '../../src/model/index.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { translateAll } from '../../src/translate/index.ts';
import { meshYaml } from '../support/mesh.ts';
import { createTestPki } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
const id = process.pid % 250;
const NS = `skiff-sec-${process.pid}`;
const HOST_IF = `vhs${process.pid % 100000}`;
const POD_IF = `vps${process.pid % 100000}`;
const HOST_IP = `10.231.${id}.1`;
const POD_IP = `10.231.${id}.2`;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000, () => { socket.destroy(); resolve(false); });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

describe('a sidecar in its own network namespace, with the default listeners', { skip: isRoot ? false : 'needs root for ip netns' }, () => {
  let proxy: ChildProcess | undefined;
  let app: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pod-'));
  before(async () => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', POD_IF);
    ip('link', 'set', POD_IF, 'netns', NS);
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${POD_IP}/30`, 'dev', POD_IF);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', POD_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    const { documents } = parseYamlText('pod.yaml', meshYaml('shop', 'strict', [{ name: 'web', ports: [8080] }]));
    const configs = translateAll(buildTopology(snapshotFromDocuments(documents.map((d) => d.value), { allocate: () => POD_IP })));
    const config = configs.get('shop/web-0');
    ok(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    createTestPki().issue(join(dir, 'certs'), config.proxy.identity);
    proxy = spawn('ip', ['netns', 'exec', NS, process.execPath, join(ROOT, 'bin', 'skiff.mjs'), 'proxy', '--config', join(dir, 'config.json'), '--certs', join(dir, 'certs'), '--probe-tcp-ports', '8080,9090'], { stdio: 'ignore' });
    await waitFor('the sidecar listens', () => connects(POD_IP, PORTS.health), 20_000);
  });
  after(() => {
    proxy?.kill('SIGKILL');
    app?.kill('SIGKILL');
    try { ip('link', 'del', HOST_IF); } catch { /* gone with the namespace */ }
    try { ip('netns', 'del', NS); } catch { /* not created */ }
    rmSync(dir, { recursive: true, force: true });
  });

  test('another pod cannot reach the outbound listener or the full admin', async () => {
    equal(await connects(POD_IP, PORTS.outbound), false, 'outbound is on loopback only');
    equal(await connects(POD_IP, PORTS.admin), false, 'admin is on loopback only');
    equal(await connects(POD_IP, PORTS.inbound), true, 'the mesh inbound port is open');
  });

  test('the health listener serves /ready, /live and /metrics and nothing else', async () => {
    const base = `http://${POD_IP}:${PORTS.health}`;
    equal((await fetch(`${base}/ready`)).status, 200);
    equal((await fetch(`${base}/live`)).status, 200);
    const metrics = await fetch(`${base}/metrics`);
    equal(metrics.status, 200);
    ok((await metrics.text()).includes('skiff_config_info'));
    for (const path of ['/config', '/stats']) equal((await fetch(`${base}${path}`)).status, 404, path);
  });

  test('a rewritten tcpSocket probe fails while the application does not listen and passes once it does; other ports are not checked', async () => {
    const base = `http://${POD_IP}:${PORTS.health}/app-health/tcp`;
    const down = await fetch(`${base}/8080`);
    equal(down.status, 503, 'the sidecar accepts the kubelet\'s connection, but the application is not there');
    equal(((await down.json()) as { result: string }).result, 'closed');
    app = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', 'require("node:net").createServer((s) => s.destroy()).listen(8080, "127.0.0.1")'], { stdio: 'ignore' });
    await waitFor('the application\'s port open to its probe', async () => (await fetch(`${base}/8080`)).status === 200, 10_000);
    for (const port of ['22', '15000', '0', '99999', 'abc', '8080.0']) equal((await fetch(`${base}/${port}`)).status, 404, `port ${port} was not given to the sidecar`);
  });

  test('probe checks that hang are bounded: 16 at once, the next answered busy at once, each closed at its timeout, then checks run again', async () => {
    const base = `http://${POD_IP}:${PORTS.health}/app-health/tcp`;
    // Inside the pod, SYNs to 9090 are dropped: a check's connect there hangs until its own timeout (an application that never answers the handshake).
    ip('netns', 'exec', NS, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9090', '--syn', '-j', 'DROP');
    const started = performance.now();
    const answer = async (port: number) => {
      const res = await fetch(`${base}/${port}`);
      return { status: res.status, result: ((await res.json()) as { result: string }).result, ms: performance.now() - started };
    };
    const hanging = Array.from({ length: MAX_CHECKS }, () => answer(9090));
    await new Promise((r) => setTimeout(r, 500));
    // Even the port whose application listens is not checked while 16 checks hang.
    const busy = await answer(8080);
    equal(busy.status, 503);
    equal(busy.result, 'busy');
    ok(busy.ms < 2000, `busy answered after ${busy.ms.toFixed(0)} ms`);
    for (const r of await Promise.all(hanging)) {
      equal(r.status, 503);
      equal(r.result, 'closed');
      ok(r.ms >= CHECK_TIMEOUT_MS - 500, `a hanging check ended after ${r.ms.toFixed(0)} ms`);
    }
    equal((await answer(8080)).status, 200, 'the checks are free again');
  });

  test('inside the pod, the app reaches its outbound listener and the admin', () => {
    const script = `const r = await fetch('http://127.0.0.1:${PORTS.admin}/config'); process.stdout.write(String(r.status));`;
    const status = execFileSync('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    equal(status, '200');
    const outbound = execFileSync('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', `const r = await fetch('http://127.0.0.1:${PORTS.outbound}/', { headers: { host: 'nowhere.example' } }); process.stdout.write(String(r.status));`], { encoding: 'utf8' });
    equal(outbound, '502', 'the outbound listener answers (502: not a mesh service)');
  });
});
