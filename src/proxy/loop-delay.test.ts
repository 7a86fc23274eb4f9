import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { LoopDelay } from './loop-delay.ts';
import { Telemetry } from './telemetry.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Holds the event loop for `ms` (a stall the sampler should, or should not, see). */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}
function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return Number(line.split(' ')[1]);
}

test('the event loop delay is sampled while traffic flows and not at all after a quiet spell', async () => {
  const registry = new Registry();
  const delay = new LoopDelay(registry, 'x_', 300);
  try {
    assert.equal(delay.active, false, 'nothing is sampled before traffic');
    delay.busy();
    await sleep(150);
    stall(250);
    await sleep(150);
    let text = await registry.metrics();
    assert.ok(gauge(text, 'x_nodejs_eventloop_lag_max_seconds') >= 0.1, 'a 250 ms stall while sampling is seen');
    // Two quiet checks with no traffic between them: sampling stops.
    await sleep(700);
    assert.equal(delay.active, false);
    await registry.metrics(); // what was sampled before the stop
    stall(250);
    await sleep(150);
    text = await registry.metrics();
    for (const s of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99']) assert.equal(gauge(text, `x_nodejs_eventloop_lag_${s}_seconds`), 0, `${s}: nothing sampled while quiet`);
    assert.ok(gauge(text, 'x_nodejs_eventloop_lag_seconds') < 0.1, 'the delay at scrape time is measured either way');
    // Traffic again: sampling resumes, and traffic within every quiet window keeps it on.
    delay.busy();
    assert.equal(delay.active, true);
    for (let i = 0; i < 16; i++) {
      await sleep(50);
      delay.busy();
    }
    assert.equal(delay.active, true, 'traffic every 50 ms keeps a 300 ms quiet check from stopping it');
    stall(250);
    await sleep(150);
    text = await registry.metrics();
    assert.ok(gauge(text, 'x_nodejs_eventloop_lag_max_seconds') >= 0.1);
  } finally {
    delay.stop();
  }
});

test("the proxy's metrics keep prom-client's process metrics and its event loop names, each once", async () => {
  const telemetry = new Telemetry();
  try {
    telemetry.loopDelay.busy();
    await sleep(350);
    const text = await telemetry.registry.metrics();
    for (const name of ['skiff_proxy_process_cpu_seconds_total', 'skiff_proxy_nodejs_heap_size_used_bytes', 'skiff_proxy_nodejs_gc_duration_seconds', 'skiff_proxy_nodejs_eventloop_lag_seconds', 'skiff_proxy_nodejs_eventloop_lag_p99_seconds']) {
      assert.equal(text.split('\n').filter((l) => l === `# TYPE ${name} ${name.endsWith('_total') ? 'counter' : name.includes('gc_duration') ? 'histogram' : 'gauge'}`).length, 1, name);
    }
    // prom-client's own sampler is given a period it never reaches (its empty histogram would say
    // ~9.2e9 s), and an idle loop reads ~0, not the sampling period (0.1 s).
    assert.ok(gauge(text, 'skiff_proxy_nodejs_eventloop_lag_min_seconds') < 0.05);
  } finally {
    telemetry.stop();
  }
});
