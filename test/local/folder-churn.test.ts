/**
 * Folder changes that come faster than pods stop: a namespace removed while its pod takes its
 * time to exit, and a new namespace added meanwhile, must end with exactly the new pods running
 * (a reconcile working from the older folder state must neither stop nor start anything).
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { LocalRuntime } from '../../src/local/runtime.ts';
import { waitFor } from '../support/wait.ts';
import { claimSubnet } from '../support/subnet.ts';

// Answers HTTP on its pod address; on SIGTERM it takes 1.5 s to exit (a slow graceful stop).
const APP = "require('http').createServer((q, r) => r.end(process.env.POD_NAME)).listen(Number(process.env.PORT), process.env.POD_IP); process.on('SIGTERM', () => setTimeout(() => process.exit(0), 1500));";
const deployment = (namespace: string, name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  replicas: ${replicas}
  template:
    metadata: {labels: {app: ${name}}, annotations: {skiff.dev/inject: "false"}}
    spec:
      containers:
      - name: app
        command: [node, -e, ${JSON.stringify(APP)}]
        ports: [{containerPort: 8080}]
`;

const dir = mkdtempSync(join(tmpdir(), 'skiff-churn-'));
let runtime: LocalRuntime | undefined;
after(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a namespace removed while its pod stops slowly, and another added meanwhile: exactly the new pods run', { timeout: 60_000 }, async () => {
  writeFileSync(join(dir, 'old.yaml'), deployment('old', 'slow', 1));
  runtime = new LocalRuntime({ dir, controlPort: 0, debugPort: 0, subnet: (await claimSubnet(60, 69)).subnet });
  const local = runtime;
  await local.start();
  const running = () => [...local.pods.entries()].filter(([, p]) => p.app?.child).map(([key]) => key).sort();
  await waitFor('the old pod runs', () => running().join() === 'old/slow-0', 15_000);

  rmSync(join(dir, 'old.yaml'));
  await waitFor('the removal is being applied', () => !local.pods.has('old/slow-0'), 10_000);
  // The old pod is still stopping (1.5 s) when the next change lands.
  writeFileSync(join(dir, 'new.yaml'), deployment('new', 'fresh', 2));

  await waitFor('both new pods run', () => running().join() === 'new/fresh-0,new/fresh-1', 20_000);
  // Past the old pod's stop, nothing changes any more.
  await new Promise((r) => setTimeout(r, 2500));
  deepEqual([...local.pods.keys()].sort(), ['new/fresh-0', 'new/fresh-1']);
  deepEqual(running(), ['new/fresh-0', 'new/fresh-1']);
  for (const pod of local.pods.values()) {
    const res = await request(`http://${pod.input.ip as string}:8080/`);
    equal(await res.body.text(), pod.input.name);
  }
  // The removed pod's folder (its log among it) went with it; the running pods keep theirs.
  deepEqual(readdirSync(join(dir, '.skiff', 'pods')).sort(), ['new.fresh-0', 'new.fresh-1']);
  ok(readFileSync(join(dir, '.skiff', 'pods', 'new.fresh-0', 'app.log'), 'utf8').includes(' started '));
});
