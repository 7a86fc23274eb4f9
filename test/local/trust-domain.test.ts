/**
 * Mesh-wide settings from one place: a MeshConfig with a non-default trust domain reaches the
 * CA (certificates), the model (identities in access rules) and every sidecar (which checks
 * its peers' trust domain): traffic flows and access control still holds.
 */
import { equal, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { PORTS } from '../../src/lib/ports.ts';
import type { LocalRuntime } from '../../src/local/runtime.ts';
import { startBookstore, type LocalExample } from '../support/local-example.ts';
import { waitFor } from '../support/wait.ts';

describe('a mesh with its own trust domain', () => {
  const agent = new Agent();
  let mesh: LocalExample;
  let runtime: LocalRuntime;
  const ip = (name: string) => [...runtime.pods.values()].find((p) => p.input.name === name)?.input.ip as string;
  const send = async (from: string, method: string, path: string) => {
    const res = await request(`http://${ip(from)}:${PORTS.outbound}${path}`, { method: method as 'GET', headers: { host: 'bookstore.bookstore' }, dispatcher: agent });
    await res.body.dump();
    return res.statusCode;
  };

  before(async () => {
    mesh = await startBookstore({
      subnets: [240, 249],
      prepare: (dir) => writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: skiff.dev/v1alpha1\nkind: MeshConfig\nspec:\n  trustDomain: bookstore.example.org\n'),
    });
    runtime = mesh.runtime;
  });
  after(async () => {
    await mesh?.stop();
    await agent.close();
  });

  test('certificates, identities and access rules all use the configured trust domain', async () => {
    const stats = await (await request(`http://${ip('buyer-0')}:${PORTS.admin}/stats`, { dispatcher: agent })).body.json() as { certificate: { identity: string } };
    equal(stats.certificate.identity, 'spiffe://bookstore.example.org/ns/bookstore/sa/buyer');
    ok(runtime.controller.topology?.pods.every((p) => p.identity.startsWith('spiffe://bookstore.example.org/')));
    equal(runtime.problems.length, 0, runtime.problems.join('\n'));
  });

  test('traffic flows over mTLS between the workloads, and the TrafficTargets still decide', async () => {
    equal(await waitFor('the buyer gets books', async () => (await send('buyer-0', 'GET', '/books')) === 200 && 200, 15_000), 200);
    equal(await send('thief-0', 'POST', '/books/1/buy'), 403);
  });
});
