/**
 * Transparent capture, for real: `skiff capture` installs its iptables rules in a network
 * namespace standing in for a pod, and `skiff proxy --capture` runs there as the proxy user.
 * The "application" (this test, as root, so its traffic is captured) calls a Service's
 * ClusterIP with no proxy setting; HTTP is routed by Host (or by the address dialled), an
 * opaque TCP port by its original destination, and a destination outside the mesh passes
 * through untouched. From outside, plaintext to the pod's application port meets the sidecar
 * (strict: refused), except the application's probe path. A datagram to the pod's declared UDP
 * port meets the relay: answered (from the application's port) when it comes from the address
 * of a pod a UDP rule allows, dropped from any other. Needs root (ip netns, iptables).
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_PROXY_UID } from '../../src/inject/settings.ts';
import { PORTS } from '../../src/lib/ports.ts';
import { buildTopology } from '../../src/model/index.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { translateAll } from '../../src/translate/index.ts';
import { createTestPki } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
const id = (process.pid % 200) + 20;
const NS = `skiff-cap-${process.pid}`;
const HOST_IF = `vhc${process.pid % 100000}`;
const POD_IF = `vpc${process.pid % 100000}`;
const HOST_IP = `10.232.${id}.1`;
const POD_IP = `10.232.${id}.2`;
/** A second address on the host side: a meshed pod of ServiceAccount caller, which a UDPRoute lets send datagrams. */
const CALLER_IP = `10.232.${id}.3`;
const UDP_PORT = 9093;
const CAPTURE = ['capture', '--proxy-uid', String(DEFAULT_PROXY_UID), '--skip-inbound-ports', '15021', '--inbound-udp', `${UDP_PORT}:${PORTS.udpRelay}`];
const SKIFF = join(ROOT, 'bin', 'skiff.mjs');

const MESH = `apiVersion: v1
kind: Namespace
metadata: {name: shop, annotations: {skiff.dev/access: strict}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec:
  serviceAccountName: client
  containers: [{name: app, ports: [{name: http, containerPort: 8080}, {name: echo, containerPort: 9093, protocol: UDP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: caller, namespace: shop, labels: {app: caller}}
spec:
  serviceAccountName: caller
  containers: [{name: app}]
---
apiVersion: specs.smi-spec.io/v1alpha4
kind: UDPRoute
metadata: {name: echo, namespace: shop}
spec: {matches: {ports: [9093]}}
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: caller-to-client, namespace: shop}
spec:
  destination: {kind: ServiceAccount, name: client, namespace: shop}
  rules: [{kind: UDPRoute, name: echo}]
  sources: [{kind: ServiceAccount, name: caller, namespace: shop}]
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: shop, labels: {app: backend}, annotations: {skiff.dev/inject: "false"}}
spec:
  containers: [{name: app, ports: [{name: http, containerPort: 8080}, {name: db, containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: client, namespace: shop}
spec: {clusterIP: 10.96.0.9, selector: {app: client}, ports: [{name: http, port: 80, targetPort: 8080}, {name: echo, port: 9093, targetPort: 9093, protocol: UDP}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: 10.96.0.10, selector: {app: backend}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: 10.96.0.11, selector: {app: backend}, ports: [{name: db, port: 5432, targetPort: 5432, appProtocol: tcp}]}
`;

const inPod = (...args: string[]) => execFileSync('nsenter', [`--net=/run/netns/${NS}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Runs `fn` with this process's network namespace switched to the pod's: a child does the calls. */
function callFromPod(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/run/netns/${NS}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => { clearTimeout(timer); if (code === 0) resolve(out.trim()); else reject(new Error(`exit ${code}: ${out}`)); });
  });
}
const httpGet = (url: string, host: string) => `fetch(${JSON.stringify(url)}, { headers: { host: ${JSON.stringify(host)} } }).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => { console.log(JSON.stringify({ error: e.cause?.code ?? e.message })); })`;
const tcpEcho = (host: string, port: number) => `const s = require('node:net').connect(${port}, ${JSON.stringify(host)}, () => s.write('ping')); s.on('data', (d) => { console.log(String(d)); s.destroy(); }); s.on('error', (e) => console.log('error ' + e.code)); setTimeout(() => process.exit(0), 5000).unref();`;

describe('transparent capture in a pod\'s network namespace', { skip: isRoot ? false : 'needs root for ip netns and iptables' }, () => {
  let proxy: ChildProcess | undefined;
  let app: ChildProcess | undefined;
  const servers: net.Server[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'skiff-capture-'));
  /** What reached the backend: its path, whether the sidecar added a request id, and any x-skiff-* header. */
  const seen: { path: string; requestId: boolean; internal: string[] }[] = [];

  before(async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', POD_IF]);
    execFileSync('ip', ['link', 'set', POD_IF, 'netns', NS]);
    execFileSync('ip', ['addr', 'add', `${HOST_IP}/24`, 'dev', HOST_IF]);
    execFileSync('ip', ['addr', 'add', `${CALLER_IP}/24`, 'dev', HOST_IF]);
    execFileSync('ip', ['link', 'set', HOST_IF, 'up']);
    inPod('ip', 'addr', 'add', `${POD_IP}/24`, 'dev', POD_IF);
    inPod('ip', 'link', 'set', POD_IF, 'up');
    inPod('ip', 'link', 'set', 'lo', 'up');
    inPod('ip', 'route', 'add', 'default', 'via', HOST_IP);
    // The backend (outside the pod, unmeshed): HTTP on 8080 records what reached it; TCP echo on 5432; a "non-mesh" TCP service on 9999.
    const web = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', requestId: req.headers['x-request-id'] !== undefined, internal: Object.keys(req.headers).filter((h) => h.startsWith('x-skiff-')) });
      res.end('web');
    });
    const echo = (prefix: string) => net.createServer((s) => s.on('data', (d) => s.end(`${prefix}:${d}`)));
    const listen = (server: net.Server, port: number) => new Promise<void>((resolve) => server.listen(port, HOST_IP, resolve));
    for (const [server, port] of [[web, 8080], [echo('db'), 5432], [echo('outside'), 9999]] as const) {
      servers.push(server);
      await listen(server, port);
    }
    const ips: Record<string, string> = { client: POD_IP, backend: HOST_IP, caller: CALLER_IP };
    const { documents } = parseYamlText('mesh.yaml', MESH);
    const config = translateAll(buildTopology(snapshotFromDocuments(documents.map((d) => d.value), { allocate: (_ns, pod) => ips[pod] ?? '10.0.0.1' }))).get('shop/client');
    ok(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    createTestPki().issue(join(dir, 'certs'), config.proxy.identity);
    execFileSync('chown', ['-R', `${DEFAULT_PROXY_UID}:${DEFAULT_PROXY_UID}`, dir]);
    chmodSync(dir, 0o755);
    // The application listens on the pod's 8080 (its probe path is /healthz) and echoes datagrams on its UDP port.
    const udpEcho = `const u = require('node:dgram').createSocket('udp4'); u.on('message', (m, f) => u.send('echo:' + m, f.port, f.address)); u.bind(${UDP_PORT}, ${JSON.stringify(POD_IP)});`;
    app = spawn('nsenter', [`--net=/run/netns/${NS}`, process.execPath, '-e', `require('node:http').createServer((q, s) => s.end('app:' + q.url)).listen(8080, ${JSON.stringify(POD_IP)}); ${udpEcho}`], { stdio: 'ignore' });
    await waitFor('the application listens', async () => (await callFromPod(tcpEcho(POD_IP, 8080))).startsWith('HTTP/1.1 400'), 10_000);
    inPod(process.execPath, SKIFF, ...CAPTURE);
    proxy = spawn('nsenter', [`--net=/run/netns/${NS}`, 'setpriv', `--reuid=${DEFAULT_PROXY_UID}`, `--regid=${DEFAULT_PROXY_UID}`, '--clear-groups', '--pdeathsig', 'KILL',
      process.execPath, SKIFF, 'proxy', '--config', join(dir, 'config.json'), '--certs', join(dir, 'certs'), '--app-host', POD_IP, '--capture', '--probe-paths', '8080:/healthz', '--inbound-udp', `${UDP_PORT}:${PORTS.udpRelay}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor('the sidecar is ready', async () => (await fetch(`http://${POD_IP}:${PORTS.health}/ready`).catch(() => undefined))?.status === 200, 20_000);
  });
  after(() => {
    proxy?.kill('SIGKILL');
    app?.kill('SIGKILL');
    for (const s of servers) s.close();
    try { execFileSync('ip', ['link', 'del', HOST_IF]); } catch { /* gone with the namespace */ }
    try { execFileSync('ip', ['netns', 'del', NS]); } catch { /* not created */ }
    rmSync(dir, { recursive: true, force: true });
  });

  test('the rules are installed once however often the capture step runs', () => {
    const before = inPod('iptables-save', '-t', 'nat').replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '');
    inPod(process.execPath, SKIFF, ...CAPTURE);
    const again = inPod('iptables-save', '-t', 'nat').replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '');
    equal(again, before);
    equal(again.split('\n').filter((l) => l.includes('-j SKIFF_OUTPUT')).length, 1);
  });

  test('HTTP to a Service\'s ClusterIP goes through the sidecar, with no proxy setting, by Host or by the address dialled', async () => {
    deepEqual(JSON.parse(await callFromPod(httpGet('http://10.96.0.10/books', 'web.shop'))), { status: 200, body: 'web' });
    deepEqual(JSON.parse(await callFromPod(httpGet('http://10.96.0.10/by-address', 'example.invalid'))), { status: 200, body: 'web' });
    // Through the sidecar (it added the request id); the backend is outside the mesh, so Skiff's own headers stay out.
    deepEqual(seen, [{ path: '/books', requestId: true, internal: [] }, { path: '/by-address', requestId: true, internal: [] }]);
  });

  test('an opaque TCP port is routed by its original destination; a destination outside the mesh passes through', async () => {
    equal(await callFromPod(tcpEcho('10.96.0.11', 5432)), 'db:ping');
    equal(await callFromPod(tcpEcho(HOST_IP, 9999)), 'outside:ping');
    const metrics = await (await fetch(`http://${POD_IP}:${PORTS.health}/metrics`)).text();
    ok(/skiff_tcp_connections_total\{[^}]*destination_service="db"[^}]*result="forwarded"[^}]*\} 1/.test(metrics), 'the db connection was forwarded by the mesh');
    ok(/skiff_tcp_connections_total\{[^}]*result="passthrough"[^}]*\} [1-9]/.test(metrics), 'the outside connection passed through');
  });

  test('from outside, plaintext to the application\'s port meets the sidecar: refused in a strict namespace, except the probe path', async () => {
    const denied = await fetch(`http://${POD_IP}:8080/secret`);
    equal(denied.status, 403);
    ok((await denied.text()).includes('unauthenticated'));
    const probe = await fetch(`http://${POD_IP}:8080/healthz`);
    const text = await probe.clone().text();
    equal(probe.status, 200, text);
    equal(await probe.text(), 'app:/healthz');
    // The probe is let through but is not traffic: the refusal is counted, the probe is not.
    const metrics = await (await fetch(`http://${POD_IP}:${PORTS.health}/metrics`)).text();
    ok(/skiff_requests_total\{direction="inbound"[^}]*status_code="403"\} [1-9]/.test(metrics), 'the refusal is counted');
    ok(!/skiff_requests_total\{direction="inbound"[^}]*status_code="200"\}/.test(metrics), `the kubelet probe is not counted:\n${metrics.split('\n').filter((l) => l.startsWith('skiff_requests_total')).join('\n')}`);
  });

  test('a datagram to the pod\'s UDP port is answered from that port when a meshed pod a UDPRoute allows sent it, and dropped from any other address', async () => {
    const send = (from: string) => new Promise<{ answer: string; port: number } | undefined>((resolve) => {
      const socket = dgram.createSocket('udp4');
      const timer = setTimeout(() => { socket.close(); resolve(undefined); }, 1000);
      socket.once('message', (m, rinfo) => { clearTimeout(timer); socket.close(); resolve({ answer: String(m), port: rinfo.port }); });
      socket.bind(0, from, () => socket.send('ping', UDP_PORT, POD_IP));
    });
    deepEqual(await send(CALLER_IP), { answer: 'echo:ping', port: UDP_PORT });
    equal(await send(HOST_IP), undefined, 'an address that is no allowed pod gets no answer');
    const metrics = await (await fetch(`http://${POD_IP}:${PORTS.health}/metrics`)).text();
    ok(/skiff_udp_datagrams_total\{port="9093",result="relayed"\} 1\b/.test(metrics), metrics.split('\n').filter((l) => l.startsWith('skiff_udp')).join('\n'));
    ok(/skiff_udp_datagrams_total\{port="9093",result="denied"\} 1\b/.test(metrics));
  });

  test('excluded ports bypass the sidecar both ways once the capture step runs with them (skip-*-ports annotations)', async () => {
    // A pod IP outside the mesh passes through the sidecar, which counts it: the count tells whether the sidecar saw the connection.
    const passedThrough = async () => [...(await (await fetch(`http://${POD_IP}:${PORTS.health}/metrics`)).text()).matchAll(/^skiff_tcp_connections_total\{[^}]*result="passthrough"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const start = await passedThrough();
    deepEqual(JSON.parse(await callFromPod(httpGet(`http://${HOST_IP}:8080/captured`, 'example.invalid'))), { status: 200, body: 'web' });
    equal(await passedThrough(), start + 1, 'before: the sidecar saw the connection');
    inPod(process.execPath, SKIFF, 'capture', '--proxy-uid', String(DEFAULT_PROXY_UID), '--skip-inbound-ports', '15021,8080', '--skip-outbound-ports', '8080');
    deepEqual(JSON.parse(await callFromPod(httpGet(`http://${HOST_IP}:8080/direct`, 'example.invalid'))), { status: 200, body: 'web' });
    equal(await passedThrough(), start + 1, 'after: the skipped outbound port left the pod without the sidecar');
    // A new connection (a pooled one keeps the address translation it was made with).
    const direct = await new Promise<string>((resolve, reject) => http.get(`http://${POD_IP}:8080/secret`, { agent: false }, (res) => res.setEncoding('utf8').on('data', resolve)).on('error', reject));
    equal(direct, 'app:/secret', 'the skipped inbound port reaches the application directly (no 403 from the sidecar)');
  });
});
