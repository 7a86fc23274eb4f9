/**
 * The SMI conformance suite against local mode (`npm run conformance -- --local`): the same
 * scenarios as in the cluster runs, driven through `skiff up` on a fresh folder. Every upstream
 * step and every extra scenario the local profile claims must pass.
 */
import { equal, match, ok, rejects } from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalMesh } from '../../conformance/runner/local.ts';
import { runConformance } from '../../conformance/runner/main.ts';
import { claimSubnet } from '../support/subnet.ts';

test('the SMI conformance suite passes on local mode: 24/24 upstream steps, every claimed extra scenario FULL', { timeout: 900_000 }, async () => {
  const lines: string[] = [];
  const { subnet } = await claimSubnet(150, 199);
  const code = await runConformance(['--local', '--subnet', String(subnet), '--step-timeout', '60', '--parallel', '3'], (line) => lines.push(line));
  const report = lines.join('\n');
  equal(code, 0, report);
  match(report, /upstream SMI conformance: 24\/24 steps \(100\.0%\)/);
  const rows = lines.filter((l) => /^(traffic|split|access|route|tcp|udp)-/.test(l) && /FULL|HALF|NONE|NOT CLAIMED/.test(l));
  ok(rows.length >= 11, report);
  for (const row of rows) {
    if (/^(tcp|udp)-access/.test(row)) match(row, /NOT CLAIMED/);
    else match(row, /\bFULL\b/, row);
  }
});

test('the local driver writes objects only inside its folder: names an API server would refuse are refused', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smi-local-driver-'));
  const mesh = await LocalMesh.start({ dir, subnet: (await claimSubnet(150, 199)).subnet });
  try {
    for (const name of ['../escape', 'a/b', '..', 'UPPER']) {
      await rejects(mesh.apply(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "${name}", namespace: smi-x}\ndata: {k: v}\n`), /not a valid Kubernetes name/);
      await rejects(mesh.apply(`apiVersion: v1\nkind: Service\nmetadata: {name: ok, namespace: "${name}"}\n`), /not a valid Kubernetes name/);
    }
    await mesh.apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: smi-x}\ndata: {"../k": x, good.mjs: y}\n');
    ok(await mesh.exists('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: smi-x}\n'));
    equal(await mesh.exists('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: smi-x}\n'), false);
    ok(existsSync(join(dir, 'smi-x', 'configmap.fine', 'good.mjs')));
    equal(existsSync(join(dir, 'smi-x', 'k')), false);
    equal(existsSync(join(dir, '..', 'escape')) || existsSync(join(dir, '..', 'escape.yaml')), false);
  } finally {
    await mesh.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
