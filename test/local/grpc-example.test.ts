/**
 * Local mode runs examples/grpc as shipped: a gRPC caller with one HTTP/2 connection to its
 * sidecar, a greeter in two versions behind a TrafficSplit, h2 between the sidecars over mTLS.
 * The caller's own 10-second report is the evidence: every call answered, both versions in
 * their share over one connection, the method no TrafficTarget allows PERMISSION_DENIED.
 */
import { equal, ok } from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalRuntime } from '../../src/local/runtime.ts';
import { waitFor } from '../support/wait.ts';
import { claimSubnet } from '../support/subnet.ts';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'grpc');

describe('local mode: the gRPC example', () => {
  let dir: string;
  let runtime: LocalRuntime;
  const reports: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-grpc-'));
    cpSync(EXAMPLE, dir, { recursive: true });
    runtime = new LocalRuntime({
      dir, controlPort: 0, debugPort: 0, subnet: (await claimSubnet(78, 97)).subnet, // 127.78-97.x.x: apart from the other tests' ranges
      onOutput: (name, line) => { if (name === 'caller-0' && line.startsWith('caller: last 10s')) reports.push(line); },
    });
    await runtime.start();
  });
  after(async () => {
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every call is answered over one connection, split 80/20 per call; Admin is PERMISSION_DENIED', async () => {
    await waitFor('two reports from the caller', () => reports.length >= 2, 40_000);
    let calls = 0;
    let v2 = 0;
    for (const report of reports.slice(0, 2)) {
      const m = /last 10s (\d+) calls on (\d+) connection\(s\), v1 (\d+), v2 (\d+), failed (\d+); Admin → grpc-status (\d+) (.*)$/.exec(report);
      ok(m, report);
      equal(m[2], '1', `one connection: ${report}`);
      equal(m[5], '0', `no failed call: ${report}`);
      equal(m[6], '7', `PERMISSION_DENIED: ${report}`);
      ok(m[7]?.includes('no TrafficTarget allows spiffe://cluster.local/ns/grpc-demo/sa/caller'), report);
      calls += Number(m[1]);
      v2 += Number(m[4]);
    }
    ok(calls > 100, `the caller was busy: ${reports.join('\n')}`);
    ok(Math.abs(v2 / calls - 0.2) <= 4.5 * Math.sqrt((0.2 * 0.8) / calls), `v2 answered ${v2} of ${calls}`);
  });
});
