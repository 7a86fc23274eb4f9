/**
 * `skiff up` killed with SIGKILL leaves nothing running, and the next run starts cleanly on
 * the same addresses (no EADDRINUSE crash loops, no pod moving to another address).
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../support/wait.ts';
import { claimSubnet } from '../support/subnet.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'bookstore');

function startUp(dir: string, subnet: number): { child: ChildProcess; output: () => string } {
  let text = '';
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'skiff.mjs'), 'up', dir, '--control-port', '0', '--debug-port', '0', '--subnet', String(subnet), '--refresh', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  return { child, output: () => text };
}

const recorded = (dir: string): Record<string, { pid: number }> => {
  try {
    return JSON.parse(readFileSync(join(dir, '.skiff', 'pids.json'), 'utf8')) as Record<string, { pid: number }>;
  } catch {
    return {};
  }
};

const { subnet } = await claimSubnet(200, 239);

describe('local mode killed hard', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-kill-'));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.includes('.skiff') });
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 of skiff up takes every app and sidecar with it; the next run reuses the addresses', async () => {
    const first = startUp(dir, subnet);
    children.push(first.child);
    await waitFor('skiff up printed its guide', () => first.output().includes('live status (JSON)'), 60_000);
    const pids = Object.values(recorded(dir)).map((e) => e.pid);
    equal(pids.length, 10, `5 apps and 5 sidecars recorded: ${JSON.stringify(recorded(dir))}`);
    const addresses = readFileSync(join(dir, '.skiff', 'addresses.json'), 'utf8');
    first.child.kill('SIGKILL');
    await waitFor('every child is gone', () => pids.every((pid) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')), 10_000);

    const second = startUp(dir, subnet);
    children.push(second.child);
    await waitFor('the second run printed its guide', () => second.output().includes('live status (JSON)'), 60_000);
    deepStrictEqual(JSON.parse(readFileSync(join(dir, '.skiff', 'addresses.json'), 'utf8')), JSON.parse(addresses), 'every pod kept its address');
    const url = /live status \(JSON\)\s+(\S+)/.exec(second.output())?.[1];
    ok(url, second.output());
    const status = await waitFor('every pod runs', async () => {
      const body = await (await fetch(url)).json() as { pods: { app: string; sidecar: string; restarts: number }[] };
      return body.pods.length === 5 && body.pods.every((p) => p.app === 'running' && p.sidecar === 'running') && body;
    }, 20_000);
    equal(status.pods.reduce((n, p) => n + p.restarts, 0), 0, 'no crash loop (EADDRINUSE)');
    second.child.kill('SIGTERM');
    await waitFor('the second run stopped', () => second.child.exitCode !== null, 15_000);
  });
});
