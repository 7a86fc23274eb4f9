import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { BUNDLE_ENTRIES } from '../src/local/bundle.ts';
import { createTestPki } from '../test/support/pki.ts';
import { ADDR, configsFor, cpuSeconds, dir, fortio, nginxConf, sidecar, start, stopAll } from './harness.ts';
writeFileSync(join(dir, 'origin.conf'), nginxConf('origin', `server { listen ${ADDR.origin}:8080 reuseport; location / { return 200 '${'x'.repeat(1024)}'; } }`));
start('origin', 0, 'nginx', ['-c', join(dir, 'origin.conf'), '-p', dir]);
const build = async (entry: string, out: string) => { await esbuild.build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node24', external: ['koffi'], logLevel: 'warning', banner: { js: `import { createRequire as __skiffRequire } from 'node:module'; const require = __skiffRequire(import.meta.url);` } }); return out; };
const program = await build(BUNDLE_ENTRIES.sidecar, '/tmp/prof/skiff-proxy.mjs');
const pki = createTestPki();
const certs = (name: string, id: string) => { const d = join(dir, `certs-${name}`); mkdirSync(d, { recursive: true }); pki.issue(d, id, 24 * 3600_000); return d; };
const meshed = configsFor(true, ADDR.client);
const prof = process.env.PROF ? (n: string) => ['env', `NODE_OPTIONS=--cpu-prof --cpu-prof-dir=/tmp/prof/${n}`] : () => [];
const server = await sidecar(program, 'server', meshed.get('shop/web-0'), ADDR.origin, certs('server', 'spiffe://cluster.local/ns/shop/sa/web'), ADDR.origin, prof('server'));
const client = await sidecar(program, 'client', meshed.get('shop/client-0'), ADDR.client, certs('client', 'spiffe://cluster.local/ns/shop/sa/client'), ADDR.origin, prof('client'));
const oneHop = await sidecar(program, 'one-hop', configsFor(false, ADDR.oneHop).get('shop/client-0'), ADDR.oneHop, undefined);
for (const [n, url, pids] of [['pair', `http://${client.outbound}/`, [client.child.pid, server.child.pid]], ['one hop', `http://${oneHop.outbound}/`, [oneHop.child.pid]]] as const) {
  fortio(url, 2000, 16, 5);
  const each = pids.map((p) => cpuSeconds([p as number]));
  const r = fortio(url, 1000, 16, 10);
  console.log(n, 'cpu s/1k', pids.map((p, i) => ((cpuSeconds([p as number]) - (each[i] as number)) / (r.count / 1000)).toFixed(3)).join(' + '), 'p50', r.p50.toFixed(3), 'p99', r.p99.toFixed(3));
}
client.child.kill('SIGINT'); server.child.kill('SIGINT');
await new Promise((res) => setTimeout(res, 2000));
stopAll();
