/**
 * Trains the sidecar bundle's V8 code cache (lib/code-cache.ts, cli/sidecar-launch.ts): starts
 * the bundle once as a sidecar with SKIFF_CODE_CACHE=write, sends requests through both of its
 * paths (its outbound listener to a Service whose only pod is itself, so the same process
 * also takes them in over mTLS, checks the TrafficTarget and forwards them to an application),
 * reads its metrics and health, and stops it. The cache it writes as it exits holds the
 * bytecode of what a sidecar compiles at start and on its first requests. All of it on one
 * loopback address with a throwaway CA; nothing else is touched.
 *
 * The image build runs this with the Node.js binary and V8 flags the image's sidecars run
 * with (a cache made otherwise is refused by V8 and the sidecar compiles, as without one).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import { codeCacheName, sha256, sidecarBodyFile } from '../src/lib/code-cache.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../src/lib/csr.ts';
import { PORTS } from '../src/lib/ports.ts';
import { SIDECAR_ENV } from '../src/lib/sidecar-runtime.ts';
import { createCertificate, readCsr } from '../src/lib/x509.ts';
import { buildTopology } from '../src/model/index.ts';
import { parseYamlText } from '../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../src/sources/files/snapshot.ts';
import { translateAll } from '../src/translate/index.ts';

const REQUESTS = 400;
const CONCURRENCY = 8;
const ID = 'spiffe://cluster.local/ns/warm/sa/web';

const MESH = `apiVersion: v1\nkind: Namespace\nmetadata: {name: warm, annotations: {skiff.dev/access: strict}}
---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: warm}\nspec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: warm}\nspec: {template: {metadata: {labels: {app: web}}, spec: {serviceAccountName: web, containers: [{name: app, ports: [{containerPort: 8080}]}]}}}
---\napiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata: {name: web, namespace: warm}\nspec: {matches: [{name: any, pathRegex: "/.*", methods: ["*"]}]}
---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata: {name: web-web, namespace: warm}
spec: {destination: {kind: ServiceAccount, name: web}, rules: [{kind: HTTPRouteGroup, name: web, matches: [any]}], sources: [{kind: ServiceAccount, name: web}]}\n`;

/** A root and a certificate for the trained sidecar's identity, written as the sidecar reads them. */
function writeCertificates(dir: string): void {
  const now = Date.now();
  const rootKeys = generateKeyPair();
  const root = createCertificate({ commonName: 'skiff code cache training', publicKey: rootKeys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000), isCA: true, pathLength: 0 }, undefined, rootKeys.privateKey);
  const leaf = generateKeyPair();
  const { publicKey } = readCsr(createCsr(leaf, ID));
  const cert = createCertificate({ commonName: 'web.warm', publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000), isCA: false, uris: [ID] }, { certificatePem: root, privateKey: rootKeys.privateKey });
  writeFileSync(join(dir, 'key.pem'), privateKeyPem(leaf.privateKey));
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'ca.pem'), root);
}

async function waitReady(url: string, exited: () => string | undefined): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const why = exited();
    if (why) throw new Error(`the sidecar being trained exited: ${why}`);
    try {
      const res = await request(url);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the sidecar being trained was not ready in 15 s (${url})`);
}

/**
 * Writes the code cache beside the sidecar bundle `entry` (skiff-proxy.mjs) by running it with
 * `node` and `nodeFlags`; returns the cache file and its size.
 */
export async function trainCodeCache(entry: string, node: string, nodeFlags: readonly string[]): Promise<{ file: string; bytes: number }> {
  const cacheFile = join(dirname(entry), codeCacheName(sha256(readFileSync(sidecarBodyFile(entry), 'utf8'))));
  rmSync(cacheFile, { force: true });
  const dir = mkdtempSync(join(tmpdir(), 'skiff-train-'));
  const ip = `127.210.${1 + (process.pid % 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const app = createServer((req, res) => { req.resume(); req.on('end', () => res.end(`warm ${req.method} ${req.url}`)); });
  try {
    writeCertificates(dir);
    const { documents } = parseYamlText('training.yaml', MESH);
    const config = translateAll(buildTopology(snapshotFromDocuments(documents.map((d) => d.value), { allocate: () => ip }))).get('warm/web-0');
    if (!config) throw new Error('the training mesh has no warm/web-0');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    await new Promise<void>((resolve, reject) => { app.once('error', reject); app.listen(8080, ip, resolve); });
    const at = (port: number) => `${ip}:${port}`;
    const child = spawn(node, [...nodeFlags, entry, 'proxy', '--config', join(dir, 'config.json'), '--certs', dir, '--app-host', ip,
      '--inbound', at(PORTS.inbound), '--outbound', at(PORTS.outbound), '--admin', at(PORTS.admin), '--health', at(PORTS.health)],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...SIDECAR_ENV, SKIFF_CODE_CACHE: 'write' } });
    let stderr = '';
    let exit: string | undefined;
    child.stderr.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<void>((resolve) => child.on('exit', (code, signal) => { exit = `${code ?? signal}: ${stderr.slice(-2000)}`; resolve(); }));
    try {
      await waitReady(`http://${at(PORTS.health)}/ready`, () => exit);
      let sent = 0;
      const failures: string[] = [];
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (sent < REQUESTS) {
          const n = sent++;
          const res = await request(`http://${at(PORTS.outbound)}/items/${n}?q=${n}`, n % 4 === 3
            ? { method: 'POST', headers: { host: 'web.warm', 'content-type': 'application/json' }, body: JSON.stringify({ n }) }
            : { headers: { host: 'web.warm' } });
          await res.body.dump();
          if (res.statusCode !== 200) failures.push(`${n}: ${res.statusCode}`);
        }
      }));
      if (failures.length > 0) throw new Error(`training requests failed: ${failures.slice(0, 5).join(', ')}\n${stderr.slice(-2000)}`);
      for (const url of [`http://${at(PORTS.health)}/metrics`, `http://${at(PORTS.admin)}/metrics`, `http://${at(PORTS.health)}/live`]) await (await request(url)).body.dump();
    } finally {
      if (!exit) child.kill('SIGTERM');
      await exited;
    }
    if (!existsSync(cacheFile)) throw new Error(`the trained sidecar wrote no code cache (${cacheFile}); it exited ${exit}`);
    return { file: cacheFile, bytes: statSync(cacheFile).size };
  } finally {
    app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
