/**
 * A control plane away for longer than the sidecars' certificates live (a laptop asleep over
 * the weekend, an outage in a cluster): every certificate expires meanwhile, and an expired
 * certificate proves nothing. When the control plane is back, each sidecar must prove who it is
 * again (local mode hands it a fresh one-time token in its own folder, as the kubelet refreshes
 * a projected ServiceAccount token), get a certificate and its config stream back, and serve.
 */
import { equal, ok } from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import type { LocalRuntime } from '../../src/local/runtime.ts';
import { startBookstore, type LocalExample } from '../support/local-example.ts';
import { waitFor } from '../support/wait.ts';

const TTL_MS = 4000;
const agent = new Agent({ keepAliveTimeout: 10_000 });
let mesh: LocalExample;
let dir: string;
let runtime: LocalRuntime;

before(async () => {
  mesh = await startBookstore({ subnets: [150, 199], runtime: { certificateTtlMs: TTL_MS } });
  ({ dir, runtime } = mesh);
});

after(async () => {
  await mesh?.stop();
  await agent.close();
});

test('a stranger asking for a proxy\'s certificate without proof gets 403 and makes no token written', async () => {
  const tokenFile = join(dir, '.skiff', 'pods', 'bookstore.buyer-0', 'token');
  const token = readFileSync(tokenFile, 'utf8');
  const stranger = new Agent({ connect: { ca: readFileSync(join(dir, '.skiff', 'trust-bundle.pem'), 'utf8') } });
  try {
    for (const [proxy, proof] of [['bookstore/buyer-0', 'ab'.repeat(24)], ['bookstore/buyer-0', undefined], ['bookstore/nobody-0', 'ab'.repeat(24)], ['bookstore/buyer-0', token]] as const) {
      for (let i = 0; i < 20; i++) {
        const res = await request(`${runtime.controlUrl}/v1/certificate`, {
          method: 'POST', dispatcher: stranger, headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ proxy, csr: 'x', ...(proof ? { token: proof } : {}) }),
        });
        await res.body.dump();
        ok([403, 404].includes(res.statusCode), `${proxy}: ${res.statusCode}`);
      }
    }
    // The buyer's certificate is valid: its token file is left as it was, and no folder was made for a pod that does not run.
    equal(readFileSync(tokenFile, 'utf8'), token);
    equal(existsSync(join(dir, '.skiff', 'pods', 'bookstore.nobody-0')), false);
  } finally {
    await stranger.close();
  }
});

test('after an outage longer than the certificates live, every sidecar proves itself again, reconnects and serves', { timeout: 90_000 }, async (t) => {
  const before = new Map(runtime.controller.proxyStatus().map((p) => [p.proxy, p.certificateNotAfter]));
  // Down for longer than a certificate lives: whatever was renewed last has expired when it returns.
  await runtime.restartControlPlane(TTL_MS + 1500);
  const outageEnded = Date.now();
  await waitFor('every sidecar reconnected with a certificate issued after the outage', () => runtime.controller.proxyStatus().every((p) => p.connected
    && p.certificateNotAfter !== null && p.certificateNotAfter !== before.get(p.proxy) && Date.parse(p.certificateNotAfter) > outageEnded), 30_000);
  t.diagnostic(`every sidecar reconnected with a new certificate ${Date.now() - outageEnded} ms after the control plane returned`);
  const buyer = [...runtime.pods.values()].find((p) => p.input.name === 'buyer-0');
  ok(buyer?.input.ip);
  await waitFor('the buyer reaches the bookstore over mTLS again', async () => {
    const res = await request(`http://${buyer.input.ip}:15001/books`, { headers: { host: 'bookstore.bookstore' }, dispatcher: agent });
    await res.body.dump();
    return res.statusCode === 200;
  }, 15_000);
});
