/**
 * Skiff as JavaScript bundles built with esbuild: the whole `skiff` command (the image's
 * skiff.mjs) and the sidecar alone (skiff-proxy.mjs: local mode's sidecars, the image's
 * sidecar container, bench/proxy). A bundle holds its dependencies, so Node loads one file
 * instead of stripping types from and resolving hundreds; the sidecar bundle leaves out what a
 * sidecar never runs. Measured (bench/proxy, idle sidecar): from the TypeScript sources 205 MB
 * RSS, from the whole command's bundle 138 MB, from the sidecar bundle 80 MB; 75 MB and ~90 ms
 * less from start to ready once built-ins were read on demand (below) and the sidecar made its
 * certificate request without node-forge (lib/csr).
 * Without esbuild (a production install) local mode runs the sources as they are.
 */
import { existsSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type * as Esbuild from 'esbuild';
import { sidecarBodyFile } from '../lib/code-cache.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

export const BUNDLE_ENTRIES = {
  cli: join(ROOT, 'src', 'cli', 'main.ts'),
  sidecar: join(ROOT, 'src', 'cli', 'sidecar-main.ts'),
} as const;
const SIDECAR_LAUNCHER = join(ROOT, 'src', 'cli', 'sidecar-launch.ts');

const BUILTIN = new Set(builtinModules);
const requireHere = createRequire(import.meta.url);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Whether `name` can be declared (an identifier, not a reserved word): only those become named exports. */
function declarable(name: string): boolean {
  if (!IDENTIFIER.test(name) || ['default', '__builtin', '__read'].includes(name)) return false;
  try {
    new Function(`'use strict'; const ${name} = 0;`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Node's built-in modules, imported from an ES module, become a stand-in module that reads only
 * the exports the code uses. An ES import of a built-in makes Node build its namespace, which
 * reads every export, including the lazy ones: `node:http`'s WebSocket getter compiles Node's
 * own copy of undici (about 60 ms and 13 MB RSS at start, measured as `import 'node:http'`
 * against `require('node:http')`); `node:crypto`, `node:fs` and `node:util` load more the same
 * way, even when their exports are only listed. The stand-in requires the module and exports
 * each name as a pure call, so esbuild drops the names nothing uses.
 */
const builtinsOnDemand: Esbuild.Plugin = {
  name: 'builtins-on-demand',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => {
      const name = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
      if (!BUILTIN.has(name)) return undefined;
      // require() calls (CommonJS dependencies, and the stand-in itself) stay plain externals.
      if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return { path: args.path, external: true };
      return { path: name, namespace: 'builtin-on-demand' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-on-demand' }, (args) => {
      const names = Object.getOwnPropertyNames(requireHere(`node:${args.path}`)).filter(declarable);
      const lines = [`const __builtin = require(${JSON.stringify(`node:${args.path}`)});`, 'const __read = (name) => __builtin[name];', 'export default __builtin;'];
      for (const n of names) lines.push(`export const ${n} = /* @__PURE__ */ __read(${JSON.stringify(n)});`);
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

/**
 * Writes `entry` (a path; usually one of BUNDLE_ENTRIES) with every dependency inside to
 * `outfile`: one ES module, or (`cjs`) the body of one CommonJS function for the sidecar's
 * launcher, which passes import.meta.url in. koffi stays outside (it loads a native module
 * from its own package). `headline` starts the file.
 */
export async function buildBundle(esbuild: typeof Esbuild, entry: string, outfile: string, headline: string, format: 'esm' | 'cjs' = 'esm'): Promise<void> {
  await esbuild.build({
    entryPoints: [entry], outfile, bundle: true, platform: 'node', format, target: 'node24',
    external: ['koffi'], plugins: [builtinsOnDemand],
    minifyWhitespace: true, minifySyntax: true, legalComments: 'eof', logLevel: 'warning', absWorkingDir: ROOT,
    // CommonJS dependencies call require() for Node's built-ins: an ES module makes its own.
    banner: { js: format === 'esm' ? `// ${headline}\nimport { createRequire as __skiffRequire } from 'node:module'; const require = __skiffRequire(import.meta.url);` : `// ${headline}` },
    ...(format === 'cjs' ? { define: { 'import.meta.url': '__skiff_import_meta_url' } } : {}),
  });
}

/**
 * The sidecar bundle: `outfile` (skiff-proxy.mjs, cli/sidecar-launch.ts) runs the sidecar's
 * code from `outfile`-body.cjs beside it with V8's code cache for it when one is there
 * (lib/code-cache.ts; scripts/train-code-cache.ts makes one).
 */
export async function buildSidecarBundle(esbuild: typeof Esbuild, outfile: string, headline: string): Promise<{ entry: string; body: string }> {
  const body = sidecarBodyFile(outfile);
  await buildBundle(esbuild, BUNDLE_ENTRIES.sidecar, body, headline, 'cjs');
  await buildBundle(esbuild, SIDECAR_LAUNCHER, outfile, headline);
  return { entry: outfile, body };
}

/**
 * Local mode's sidecar program: the sidecar bundle, built now under the project's
 * node_modules/.cache (koffi resolves from there), or the TypeScript entry point when esbuild
 * is not installed or the build fails.
 */
export async function sidecarEntryPoint(): Promise<string> {
  // Run from a bundle (the container image) there is no bin/skiff.mjs: the bundle itself is the entry.
  const fallback = existsSync(join(ROOT, 'bin', 'skiff.mjs')) ? join(ROOT, 'bin', 'skiff.mjs') : (process.argv[1] ?? join(ROOT, 'bin', 'skiff.mjs'));
  let esbuild: typeof Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return fallback;
  }
  const outfile = join(ROOT, 'node_modules', '.cache', 'skiff', `skiff-proxy-${process.pid}.mjs`);
  try {
    await buildSidecarBundle(esbuild, outfile, 'Generated by skiff up from src/; not for editing.');
    return outfile;
  } catch {
    return fallback;
  }
}
