import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { BUNDLE_ENTRIES } from '../src/local/bundle.ts';
import { ADDR, configsFor, dir, fortio, nginxConf, NODE, NODE_FLAGS, sidecar, start, stopAll, waitHttp } from './harness.ts';
writeFileSync(join(dir, 'origin.conf'), nginxConf('origin', `server { listen ${ADDR.origin}:8080 reuseport; location / { return 200 '${'x'.repeat(1024)}'; } }`));
start('origin', 0, 'nginx', ['-c', join(dir, 'origin.conf'), '-p', dir]);
const build = async (entry: string, out: string) => { await esbuild.build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node24', external: ['koffi'], logLevel: 'warning', banner: { js: `import { createRequire as __skiffRequire } from 'node:module'; const require = __skiffRequire(import.meta.url);` } }); return out; };
const program = await build(BUNDLE_ENTRIES.sidecar, '/tmp/prof/skiff-proxy.mjs');
const floorProgram = await build('bench/node-floor.ts', '/tmp/prof/node-floor.mjs');
mkdirSync('/tmp/prof/s', { recursive: true }); mkdirSync('/tmp/prof/f', { recursive: true });
const s = await sidecar(program, 'one-hop', configsFor(false, ADDR.oneHop).get('shop/client-0'), ADDR.oneHop, undefined, ADDR.origin, ['env', 'NODE_OPTIONS=--cpu-prof --cpu-prof-dir=/tmp/prof/s']);
const f = start('floor', 1, 'env', ['NODE_OPTIONS=--cpu-prof --cpu-prof-dir=/tmp/prof/f', NODE, ...NODE_FLAGS, floorProgram, `${ADDR.floor}:8080`, `${ADDR.origin}:8080`]);
await waitHttp(`http://${ADDR.floor}:8080/`);
for (const [n, u] of [['skiff', `http://${s.outbound}/`], ['floor', `http://${ADDR.floor}:8080/`]]) { fortio(u as string, 0, 32, 4); const r = fortio(u as string, 0, 32, 10); console.log(n, r.qps.toFixed(0)); }
s.child.kill('SIGINT'); f.kill('SIGINT');
await new Promise((res) => setTimeout(res, 2000));
stopAll();
