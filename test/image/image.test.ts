/**
 * Skiff's container image, built the way `npm run image` builds it and run by a real
 * container runtime (podman with runc and the cgroupfs driver, which work on this cgroup v1
 * host): reproducible layer digests, a read-only root file system, the unprivileged user, the
 * CLI, and a sidecar that starts and reports ready.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage, type BuiltImage } from '../../scripts/build-image.ts';
import { defaultInjectSettings } from '../../src/inject/defaults.ts';
import { injectPod, PROXY_CONTAINER } from '../../src/inject/pod.ts';
import { buildTopology } from '../../src/model/index.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { translateAll } from '../../src/translate/index.ts';
import { meshYaml } from '../support/mesh.ts';
import { createTestPki } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'skiff-image-test-'));
chmodSync(work, 0o755);
// Podman's own storage for this run (vfs: no overlay-on-overlay needed); limits no higher
// than this host's hard limits, which an unprivileged-capability runtime cannot raise.
const PODMAN = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--runtime', 'runc', '--events-backend', 'file'];
const RUN = ['run', '--rm', '--read-only', '--ulimit', 'nofile=16384:16384', '--ulimit', 'nproc=4096:4096'];
const podman = (...args: string[]) => execFileSync('podman', [...PODMAN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });

describe('the Skiff image', () => {
  let image: BuiltImage;
  const running: ChildProcess[] = [];
  before(async () => {
    image = await buildImage(join(work, 'skiff.oci.tar'));
    podman('load', '-i', image.file);
  });
  after(() => {
    for (const child of running) child.kill('SIGKILL');
    try { podman('rm', '--all', '--force'); } catch { /* nothing left */ }
    rmSync(work, { recursive: true, force: true });
  });

  test('the same sources give the same layer digests, base layer included (rebuilt without the cache); only the trained code cache layer differs', async () => {
    const again = await buildImage(join(work, 'again.oci.tar'));
    equal(image.layers.length, 4);
    deepStrictEqual(again.layers.slice(0, 3), image.layers.slice(0, 3));
    const cold = await buildImage(join(work, 'cold.oci.tar'), join(work, 'fresh-cache'));
    deepStrictEqual(cold.layers.slice(0, 3), image.layers.slice(0, 3));
    ok(image.size < 80e6, `compressed size ${image.size}`);
  });

  test('it runs as user 65532 on a read-only root file system, with the CLI, the dashboard page, the CA bundle and iptables', () => {
    const config = JSON.parse(podman('image', 'inspect', image.name)) as { Config: { User: string } }[];
    equal(config[0]?.Config.User, '65532:65532');
    ok(podman(...RUN, '--network', 'none', image.name).includes('Usage: skiff <command>'));
    equal(podman(...RUN, '--network', 'none', '-v', `${join(ROOT, 'examples', 'bookstore')}:/ex:ro`, image.name, 'validate', '/ex').trim(), '8 SMI objects in 3 files: 0 errors, 0 warnings');
    const facts = podman(...RUN, '--network', 'none', '--entrypoint', '/usr/local/bin/node', image.name, '-e',
      'const fs = require("fs"); let w = "writable"; try { fs.writeFileSync("/app/x", "") } catch (e) { w = e.code } console.log(JSON.stringify({ uid: process.getuid(), write: w, certs: fs.statSync("/etc/ssl/certs/ca-certificates.crt").size > 100000, dashboard: ["index.html", "app.js", "style.css"].every((f) => fs.statSync("/app/dashboard/" + f).size > 0) }))');
    deepStrictEqual(JSON.parse(facts), { uid: 65532, write: 'EROFS', certs: true, dashboard: true });
    ok(podman(...RUN, '--network', 'none', '--user', '0', '--entrypoint', '/usr/sbin/iptables', image.name, '--version').startsWith('iptables v1.8'));
    // The FFI the captured proxy reads original destinations with loads its native module from the image.
    equal(podman(...RUN, '--network', 'none', '--entrypoint', '/usr/local/bin/node', image.name, '-e', 'require("/app/node_modules/koffi").load("libc.so.6"); console.log("ffi ok")').trim(), 'ffi ok');
  });

  test('the capture step installs its rules as root with NET_ADMIN and NET_RAW only, and twice changes nothing', () => {
    const capture = ['--network', 'none', '--user', '0', '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN,NET_RAW', image.name, 'capture', '--proxy-uid', '2102', '--skip-inbound-ports', '15021'];
    const out = podman(...RUN, ...capture);
    ok(/installed with iptables-(nft|legacy)/.test(out), out);
    ok(out.includes('-A SKIFF_OUTPUT -m owner --uid-owner 2102 -j RETURN'));
    // Without the capabilities it fails with a clear message instead of half-installed rules.
    let failed = '';
    try { podman(...RUN, '--network', 'none', '--user', '0', '--cap-drop', 'ALL', image.name, 'capture', '--proxy-uid', '2102'); } catch (err) { failed = String((err as { stderr?: string }).stderr); }
    ok(failed.includes('no working iptables backend'), failed);
  });

  test('a sidecar from the image, started as injection starts it (its bundle, flags and environment) under a 128 MiB limit, starts with its config and certificate and reports ready', async () => {
    const dir = join(work, 'pod');
    const { documents } = parseYamlText('pod.yaml', meshYaml('shop', 'strict', [{ name: 'web', ports: [8080] }]));
    const config = translateAll(buildTopology(snapshotFromDocuments(documents.map((d) => d.value), { allocate: () => '127.0.0.1' }))).get('shop/web-0');
    ok(config);
    createTestPki().issue(join(dir, 'certs'), config.proxy.identity);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    for (const f of ['certs/cert.pem', 'certs/key.pem', 'certs/ca.pem', 'config.json']) chmodSync(join(dir, f), 0o644);
    for (const d of ['', 'certs']) chmodSync(join(dir, d), 0o755);
    const base = 20000 + (process.pid % 5000);
    const pod = injectPod({ metadata: { name: 'web' }, spec: { containers: [{ name: 'app' }] } }, 'shop', { 'skiff.dev/inject': 'enabled' }, defaultInjectSettings({ image: image.name }));
    ok(pod.injected);
    const injected = (pod.template.spec?.initContainers as { name: string; command: string[]; env: { name: string; value?: string }[] }[]).find((c) => c.name === PROXY_CONTAINER);
    ok(injected);
    const [entrypoint, ...flags] = injected.command;
    const env = injected.env.filter((e) => e.value !== undefined).flatMap((e) => ['--env', `${e.name}=${e.value}`]);
    const child = spawn('podman', [...PODMAN, ...RUN, '--memory', '128m', '--network', 'host', '-v', `${dir}:/pod:ro`, ...env, '--entrypoint', entrypoint as string, image.name, ...flags, 'proxy', '--config', '/pod/config.json', '--certs', '/pod/certs',
      '--inbound', `127.0.0.1:${base}`, '--outbound', `127.0.0.1:${base + 1}`, '--admin', `127.0.0.1:${base + 2}`, '--health', `127.0.0.1:${base + 3}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.push(child);
    let log = '';
    child.stderr?.on('data', (d) => { log += String(d); });
    const ready = await waitFor('the sidecar is ready', async () => {
      const res = await fetch(`http://127.0.0.1:${base + 3}/ready`).catch(() => undefined);
      return res?.status === 200 && res;
    }, 60_000);
    equal(ready.status, 200);
    equal((await fetch(`http://127.0.0.1:${base + 3}/config`)).status, 404, 'the health port serves no config');
    // The code cache trained at build time fits the image's Node.js and the injected flags.
    const codeCache = log.split('\n').map((l) => { try { return JSON.parse(l) as { event?: string; used?: boolean }; } catch { return {}; } }).find((e) => e.event === 'code-cache');
    equal(codeCache?.used, true, log);
  });
});
