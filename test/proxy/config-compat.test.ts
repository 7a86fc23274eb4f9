/**
 * A control plane newer than its sidecars: a sidecar of the release before UDP access asks for
 * its config stream without `udp=1`, and its closed schema would refuse UDP ports, UDP rules
 * and datagram sources (keeping its last good config for every later change too). Such a
 * stream is sent the config without them; today's sidecar (its real control client) says
 * `udp=1` and gets them.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { ProxyConfig } from '../../src/config/index.ts';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { MeshController } from '../../src/control/controller.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';
import { ControlClient } from '../../src/proxy/control-client.ts';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../../src/proxy/tls-material.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { GOLDEN_DIR } from '../support/golden.ts';
import { waitFor } from '../support/wait.ts';

const CASE = join(GOLDEN_DIR, 'target-l4-example-tcp-and-udp-ports.in.yaml');
const PROXY = 'shop/consul-0';
const IDENTITY = 'spiffe://cluster.local/ns/shop/sa/server';

/** The first `config` event of a stream opened with `query`, as an older sidecar would open it. */
async function firstConfig(url: string, query: string, dispatcher: Agent): Promise<ProxyConfig> {
  const res = await request(`${url}/v1/config?${query}`, { dispatcher, bodyTimeout: 0 });
  equal(res.statusCode, 200);
  let text = '';
  for await (const chunk of res.body) {
    text += String(chunk);
    const event = /event: config\nid: [0-9a-f]+\ndata: (.*)\n\n/.exec(text);
    if (event) {
      res.body.destroy();
      return JSON.parse(event[1] as string) as ProxyConfig;
    }
    if (text.length > 1_000_000) break;
  }
  throw new Error(`no config event in ${text.slice(0, 200)}`);
}

describe('config compatibility: a sidecar older than UDP access keeps taking configs', () => {
  let ca: CertificateAuthority;
  let server: DistributionServer;
  let url: string;
  let dir: string;
  let agent: Agent;
  let client: ControlClient | undefined;
  const controller = new MeshController({ debounceMs: 1, maxDelayMs: 5 });

  before(async () => {
    ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    controller.update(snapshotFromDocuments(parseYamlText(CASE, readFileSync(CASE, 'utf8')).documents.map((d) => d.value)));
    controller.rebuild();
    server = new DistributionServer({ controller, ca, host: '127.0.0.1', port: 0 });
    url = await server.start();
    dir = mkdtempSync(join(tmpdir(), 'skiff-compat-'));
    const keys = generateKeyPair();
    const certificatePem = ca.issue(createCsr(keys, IDENTITY), IDENTITY).certificatePem;
    writeFileSync(join(dir, CERT_FILE), certificatePem);
    writeFileSync(join(dir, KEY_FILE), privateKeyPem(keys.privateKey));
    writeFileSync(join(dir, CA_FILE), ca.trustBundle());
    agent = new Agent({ connect: { ca: ca.trustBundle(), cert: certificatePem, key: privateKeyPem(keys.privateKey) } });
  });
  after(async () => {
    client?.stop();
    await agent.close();
    await server.close();
    controller.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without udp=1 the stream carries no UDP; the sidecar of this release says udp=1 and gets UDP rules and datagram sources', async () => {
    const old = await firstConfig(url, `proxy=${encodeURIComponent(PROXY)}&demand=1&deltas=1`, agent);
    ok(!JSON.stringify(old.inbound).includes('udp'), JSON.stringify(old.inbound));
    equal(old.inbound.datagramSources, undefined);
    deepStrictEqual(old.inbound.rules.map((r) => r.protocols), [['tcp', 'http']], 'the TCP and HTTP rule stays');

    const received: ProxyConfig[] = [];
    client = new ControlClient({ url: `https://localhost:${new URL(url).port}`, proxyId: PROXY, certDir: dir, trustBundle: ca.trustBundle() });
    client.on('config', (c) => received.push(c as ProxyConfig));
    await client.start();
    await waitFor('a config with UDP', () => received.some((c) => c.inbound.datagramSources !== undefined), 5000);
    const now = received.find((c) => c.inbound.datagramSources !== undefined) as ProxyConfig;
    deepStrictEqual(now.inbound.rules.map((r) => r.protocols), [['tcp', 'http'], ['udp']]);
    deepStrictEqual(now.inbound.datagramSources?.map((d) => d.identity), ['spiffe://cluster.local/ns/shop/sa/client']);
  });
});
