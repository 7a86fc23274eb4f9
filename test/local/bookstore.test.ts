/**
 * Local mode end to end with real processes: the bookstore demo's apps and sidecars, the
 * in-process control plane, live edits, a control plane outage, certificate renewal, and
 * broken edits.
 */
import { deepStrictEqual, equal, match, ok } from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { LocalRuntime } from '../../src/local/runtime.ts';
import { startBookstore, type LocalExample } from '../support/local-example.ts';
import { waitFor } from '../support/wait.ts';

const agent = new Agent({ keepAliveTimeout: 10_000 });


describe('local mode: the bookstore demo', () => {
  let mesh: LocalExample;
  let dir: string;
  let runtime: LocalRuntime;
  /** The buyer's first 10-second report: what a newcomer sees first. */
  let firstBuyerReport: string | undefined;
  const pod = (name: string) => [...runtime.pods.values()].find((p) => p.input.name === name) as NonNullable<ReturnType<typeof runtime.pods.get>>;
  /** Sends a request as the app of `from` would, through its sidecar. */
  const send = async (from: string, method: string, url: string) => {
    const p = pod(from);
    const res = await request(`http://${p.input.ip}:15001${new URL(url).pathname}`, { method: method as 'GET', headers: { host: new URL(url).host }, dispatcher: agent });
    const body = await res.body.text();
    return { status: res.statusCode, body, reason: res.headers['x-skiff-reason'] };
  };
  const setWeights = (v1: number, v2: number) => {
    const file = join(dir, 'smi.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(service: bookstore-v1\n\s+weight: )\d+/, `$1${v1}`).replace(/(service: bookstore-v2\n\s+weight: )-?\d+/, `$1${v2}`));
  };

  before(async () => {
    mesh = await startBookstore({
      subnets: [150, 199],
      runtime: {
        certificateTtlMs: 8000,
        onOutput: (name, line) => { if (name === 'buyer-0' && !firstBuyerReport && line.startsWith('buyer: last 10s')) firstBuyerReport = line; },
      },
    });
    ({ dir, runtime } = mesh);
    await waitFor('the bookstore answers through the buyer\'s sidecar', async () => (await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).status === 200, 30_000);
  });
  after(async () => {
    await mesh?.stop();
    await agent.close();
  });

  test('apps start only when their sidecars are ready: the buyer\'s first 10 s have no failed request', async () => {
    const report = await waitFor('the buyer\'s first report', () => firstBuyerReport, 20_000);
    const match = /last 10s (\d+) requests, v1 (\d+), v2 (\d+), failed (\d+)/.exec(report);
    ok(match, report);
    ok(Number(match[1]) > 50, `the buyer was busy: ${report}`);
    equal(Number(match[4]), 0, report);
  });

  test('each process\'s output is kept in its pod\'s folder; the live view shows the apps\' lines, not the sidecars\' routine events', async () => {
    const report = await waitFor('the buyer\'s first report', () => firstBuyerReport, 20_000);
    const podDir = join(dir, '.skiff', 'pods', 'bookstore.buyer-0');
    const sidecarLog = readFileSync(join(podDir, 'sidecar.log'), 'utf8');
    match(sidecarLog, /^--- \S+ started /, 'local mode marks each start');
    match(sidecarLog, /"event":"config-applied"/);
    await waitFor('the buyer\'s report in its log', () => readFileSync(join(podDir, 'app.log'), 'utf8').includes(report.slice(report.indexOf('buyer:'))), 10_000);
    const shown = runtime.stats.status().recentOutput;
    ok(shown.some((l) => l.startsWith('buyer-0: buyer:')), JSON.stringify(shown));
    ok(!shown.some((l) => /\/sidecar: (\{|info)/.test(l)), `no routine sidecar event: ${JSON.stringify(shown)}`);
  });

  test('the split sends about 10% of the buyer\'s requests to v2', async () => {
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 400; i++) {
      const res = await send('buyer-0', 'GET', 'http://bookstore.bookstore/books');
      equal(res.status, 200, res.body);
      counts[JSON.parse(res.body).version as 'v1' | 'v2']++;
    }
    const sigma = Math.sqrt(400 * 0.1 * 0.9);
    ok(Math.abs(counts.v2 - 40) < 4.5 * sigma, JSON.stringify(counts));
    const status = await waitFor('observed shares', () => runtime.stats.status().splits[0]?.backends.every((b) => b.observed !== null) && runtime.stats.status());
    ok(status.splits[0]?.backends[0]?.requests, 'the live view counts requests');
  });

  test('each sidecar holds the Services its application called, asked of the control plane on demand', async () => {
    const held = (prefix: string) => [...runtime.controller.proxies.values()].find((r) => r.id.startsWith(`bookstore/${prefix}`))?.config.outbound;
    equal(held('buyer-0')?.onDemand, true);
    // The bookstore is a TrafficSplit's root: its backends come with it.
    deepStrictEqual(held('buyer-0')?.services.map((s) => s.name), ['bookstore', 'bookstore-v1', 'bookstore-v2']);
    deepStrictEqual(held('bookstore-v1')?.services.map((s) => s.name), ['warehouse']);
    const metrics = await (await request(`http://${pod('buyer-0').input.ip}:15000/metrics`, { dispatcher: agent })).body.text();
    equal(/skiff_outbound_resolve_seconds_count\{result="found"\} (\d+)/.exec(metrics)?.[1], '1', 'the buyer asked once, for the bookstore');
  });

  test('the thief is denied with 403 naming the missing rule', async () => {
    const res = await send('thief-0', 'POST', 'http://bookstore.bookstore/books/1/buy');
    equal(res.status, 403);
    equal(res.reason, 'access-denied');
    await waitFor('the live view counts denials', () => runtime.stats.status().access.denied > 0);
  });

  test('the TrafficMetrics API on the status port: observed weights match the split\'s, the thief\'s denials show', async () => {
    type Item = { backend?: { name: string; weight: number }; edge?: { direction: string; side: string; resource: { name?: string } }; metrics: { name: string; value: string }[] };
    const get = async (path: string) => (await (await request(`http://127.0.0.1:${runtime.debugPort}/apis/metrics.smi-spec.io/v1alpha1${path}`)).body.json()) as { items: Item[] };
    const count = (i: Item | undefined, name: string) => Number(i?.metrics.find((m) => m.name === name)?.value ?? 0);
    const split = await waitFor('a minute of reports', async () => {
      const list = await get('/namespaces/bookstore/trafficsplits/bookstore?t=1m');
      const total = list.items.reduce((n, i) => n + count(i, 'success_count') + count(i, 'failure_count'), 0);
      return total > 300 && { list, total };
    }, 20_000);
    const v2 = split.list.items.find((i) => i.backend?.name === 'bookstore-v2');
    equal(v2?.backend?.weight, 10);
    const share = (count(v2, 'success_count') + count(v2, 'failure_count')) / split.total;
    const sigma = Math.sqrt((0.1 * 0.9) / split.total);
    ok(Math.abs(share - 0.1) < 4.5 * sigma, `observed ${(100 * share).toFixed(1)}% of ${split.total} requests on v2, configured 10%`);
    const edges = [...(await get('/namespaces/bookstore/deployments/bookstore-v1/edges?t=1m')).items, ...(await get('/namespaces/bookstore/deployments/bookstore-v2/edges?t=1m')).items];
    const fromThief = edges.filter((e) => e.edge?.direction === 'from' && e.edge.side === 'server' && e.edge.resource.name === 'thief');
    ok(fromThief.reduce((n, e) => n + count(e, 'denied_count'), 0) > 0, 'the thief\'s requests were denied');
    equal(fromThief.reduce((n, e) => n + count(e, 'success_count'), 0), 0, 'and none got through');
  });

  test('a weight edit in the YAML moves the traffic within a second', async () => {
    const sentBefore = runtime.configBytesSent();
    const written = Date.now();
    setWeights(0, 100);
    await waitFor('all requests go to v2', async () => {
      for (let i = 0; i < 10; i++) if (JSON.parse((await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).body).version !== 'v2') return false;
      return true;
    }, 5000);
    const took = Date.now() - written;
    ok(took < 1000, `took ${took} ms`);
    // Only the two callers of the bookstore were sent anything, as deltas of the one Service that changed.
    const sent = runtime.configBytesSent();
    equal(sent.configs, sentBefore.configs, 'no whole config was sent');
    const deltaBytes = sent.deltas - sentBefore.deltas;
    ok(deltaBytes > 0 && deltaBytes < 2 * 2048, `${deltaBytes} bytes of deltas for two subscribers`);
  });

  test('a broken edit is reported and the last good config stays in force', async () => {
    const file = join(dir, 'smi.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}\n---\nkind: [broken\n`);
    await waitFor('the YAML problem is reported', () => runtime.problems.some((p) => p.includes('SKIFF_E_YAML_SYNTAX')), 5000);
    equal(JSON.parse((await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).body).version, 'v2');
    writeFileSync(file, good);
    setWeights(50, -5);
    await waitFor('the invalid weight is reported', () => runtime.problems.some((p) => p.includes('SKIFF_E_SPLIT_WEIGHT')), 5000);
    for (let i = 0; i < 20; i++) equal(JSON.parse((await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).body).version, 'v2', 'the last good split (0/100) is still in force');
    setWeights(90, 10);
    await waitFor('the problems are gone', () => runtime.problems.length === 0, 5000);
  });

  test('a TrafficPolicy written into the folder takes effect at once, and removing it restores traffic', async () => {
    const file = join(dir, 'chaos.yaml');
    writeFileSync(file, 'apiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: chaos\n  namespace: bookstore\nspec:\n  targetRefs:\n  - kind: Service\n    name: bookstore\n  faultInjection:\n    abort:\n      status: 418\n      percent: 100\n');
    await waitFor('the buyer gets the injected 418', async () => (await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).status === 418, 5000);
    const res = await send('buyer-0', 'GET', 'http://bookstore.bookstore/books');
    equal(res.reason, 'fault-injected');
    rmSync(file);
    await waitFor('the fault is gone', async () => (await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).status === 200, 5000);
  });

  test('an outbound scope on the namespace configures the proxies for those Services only, live', async () => {
    const file = join(dir, 'workloads.yaml');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('    skiff.dev/access: strict', '    skiff.dev/outbound-scope: bookstore/warehouse\n    skiff.dev/access: strict'));
    await waitFor('the bookstore outside the buyer\'s scope', async () => (await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).status === 502, 5000);
    equal((await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).reason, 'unknown-host');
    const buyer = runtime.controller.proxies.get('bookstore/buyer-0');
    deepStrictEqual(buyer?.config.outbound.services.map((s) => s.name), ['warehouse'], 'its config holds the warehouse alone');
    writeFileSync(file, original);
    await waitFor('every Service again', async () => (await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).status === 200, 5000);
  });

  test('stopping the control plane during load loses no request; later edits still propagate', async () => {
    let failures = 0;
    let total = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const res = await send('buyer-0', 'GET', 'http://bookstore.bookstore/books');
        total++;
        if (res.status !== 200) failures++;
      }
    })();
    try {
      await runtime.restartControlPlane(1500);
      await waitFor('every sidecar reconnected', () => runtime.controller.proxyStatus().every((p) => p.connected), 30_000);
    } finally {
      stop = true;
      await loop;
    }
    equal(failures, 0, `${failures} of ${total} failed`);
    // Resumption: the new control plane heard the buyer's subscriptions before its stream began; nothing was asked again.
    const metrics = await (await request(`http://${pod('buyer-0').input.ip}:15000/metrics`, { dispatcher: agent })).body.text();
    equal(/skiff_outbound_resolve_seconds_count\{result="found"\} (\d+)/.exec(metrics)?.[1], '1', 'no host was asked again after the restart');
    setWeights(0, 100);
    await waitFor('the edit after the outage propagates', async () => JSON.parse((await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).body).version === 'v2' && JSON.parse((await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).body).version === 'v2', 5000);
  });

  test('sidecars renew their short-lived certificates without failing a request', async () => {
    const admin = `http://${pod('buyer-0').input.ip}:15000/stats`;
    const notAfter = async () => ((await (await request(admin, { dispatcher: agent })).body.json()) as { certificate: { notAfter: string } }).certificate.notAfter;
    const first = await notAfter();
    let failures = 0;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await notAfter()) === first) {
      const res = await send('buyer-0', 'GET', 'http://bookstore.bookstore/books');
      if (res.status !== 200) failures++;
    }
    ok((await notAfter()) !== first, 'the buyer\'s certificate was renewed');
    for (let i = 0; i < 50; i++) if ((await send('buyer-0', 'GET', 'http://bookstore.bookstore/books')).status !== 200) failures++;
    equal(failures, 0);
  });
});
