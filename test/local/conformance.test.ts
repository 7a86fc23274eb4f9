/**
 * The SMI conformance suite against local mode (`npm run conformance -- --local`): the same
 * scenarios as in the cluster runs, driven through `skiff up` on a fresh folder. Every upstream
 * step and every extra scenario the local profile claims must pass.
 */
import { equal, match, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { runConformance } from '../../conformance/runner/main.ts';

test('the SMI conformance suite passes on local mode: 24/24 upstream steps, every claimed extra scenario FULL', { timeout: 900_000 }, async () => {
  const lines: string[] = [];
  const code = await runConformance(['--local', '--step-timeout', '60'], (line) => lines.push(line));
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
