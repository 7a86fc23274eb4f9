/**
 * The dashboard's page: src/dashboard/web/ bundled with esbuild for the browser (Cytoscape.js
 * and its dagre layout inside; nothing loaded from the network). The image ships it built
 * (/app/dashboard); from a checkout it is built on first use into node_modules/.cache.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as Esbuild from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WEB = join(ROOT, 'src', 'dashboard', 'web');

/** The files the page is made of, as served under /dashboard/. */
export const DASHBOARD_FILES = { 'index.html': 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8' } as const;
export type DashboardFile = keyof typeof DASHBOARD_FILES;

/** Builds the page into `outDir`: app.js (the bundle), index.html, style.css. */
export async function buildDashboard(esbuild: typeof Esbuild, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(WEB, 'main.ts')], outfile: join(outDir, 'app.js'), bundle: true, platform: 'browser', format: 'esm',
    target: 'es2022', minify: true, legalComments: 'eof', logLevel: 'warning', absWorkingDir: ROOT,
  });
  await copyFile(join(WEB, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(WEB, 'style.css'), join(outDir, 'style.css'));
}

/** The page's files in memory: the shipped build when there is one, else built now. */
export async function dashboardFiles(): Promise<Map<DashboardFile, Buffer> | { problem: string }> {
  const shipped = [join(ROOT, 'dashboard'), join(process.argv[1] ? resolve(process.argv[1], '..') : ROOT, 'dashboard')];
  let dir = shipped.find((d) => existsSync(join(d, 'app.js')));
  if (!dir) {
    let esbuild: typeof Esbuild;
    try {
      esbuild = await import('esbuild');
    } catch {
      return { problem: 'the dashboard is not built and esbuild is not installed (npm ci builds it from a checkout)' };
    }
    dir = join(ROOT, 'node_modules', '.cache', 'skiff', 'dashboard');
    try {
      await buildDashboard(esbuild, dir);
    } catch (err) {
      return { problem: `building the dashboard failed: ${(err as Error).message}` };
    }
  }
  const files = new Map<DashboardFile, Buffer>();
  for (const name of Object.keys(DASHBOARD_FILES) as DashboardFile[]) files.set(name, readFileSync(join(dir, name)));
  return files;
}
