/**
 * Property-based fuzzing of what callers control (request line, headers, Host) against both
 * HTTP listeners of a real sidecar: whatever arrives, the answer is a well-formed HTTP status
 * within seconds, never a hang or a crash; answers the proxy makes itself carry a reason; and
 * the proxy still serves afterwards.
 */
import { equal, match, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { meshYaml, MESH_PORT, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';
import { rawProbe } from './support.ts';

const api = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n`;
const RUNS = Number(process.env.SKIFF_FUZZ_RUNS ?? 300);

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PRI', 'get'), token);
const pathChar = fc.constantFrom('/', '.', '%', '2', 'e', 'E', 'f', 'F', 'a', '?', '#', '&', '=', '@', ':', '\\', ';', '~', '*', ' ', '\t', '\u00e9', '\u0000');
const path = fc.oneof(
  fc.array(pathChar, { maxLength: 40 }).map((cs) => `/${cs.join('')}`),
  fc.constantFrom('*', 'http://api.shop/x', 'http://api.shop:80@evil/x', '//api.shop/x', 'api.shop', ''),
);
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', '');
const host = fc.oneof(
  fc.constantFrom('api.shop', 'api.shop:80', 'api', 'API.SHOP.', 'api.shop.svc.cluster.local', '10.0.0.1', '[::1]:80', 'api.shop:80@evil', 'api.shop:0', 'api.shop:99999', '', ' api.shop', 'a'.repeat(300)),
  fc.string({ maxLength: 30 }),
);
const header = fc.tuple(fc.oneof(token, fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Expect', 'Connection', 'Upgrade', 'X-Forwarded-Client-Cert', 'x-skiff-client', 'TE')), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('0', '5', '-1', 'chunked', '100-continue', 'close', 'websocket', 'h2c', '1e3')));
const request = fc.record({ method, path, version, host: fc.option(host, { nil: undefined }), headers: fc.array(header, { maxLength: 5 }), body: fc.string({ maxLength: 20 }) });

function render(r: { method: string; path: string; version: string; host: string | undefined; headers: [string, string][]; body: string }): string {
  const lines = [`${r.method} ${r.path} ${r.version}`.trimEnd()];
  if (r.host !== undefined) lines.push(`Host: ${r.host}`);
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
  lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n${r.body}`;
}

describe('fuzzing the HTTP listeners', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'permissive', [{ name: 'api', ports: [8080] }, { name: 'client' }], api), { limits: { headersMs: 1000, idleMs: 3000, keepAliveMs: 1500, firstByteMs: 1000 } });
  });
  after(async () => mesh?.close());

  for (const listener of ['outbound', 'inbound'] as const) {
    test(`${listener}: every request gets a well-formed answer in time; the proxy's own answers say why`, async () => {
      const at = listener === 'outbound' ? { ip: mesh.pod('client').ip, port: OUTBOUND_PORT } : { ip: mesh.pod('api').ip, port: MESH_PORT };
      await fc.assert(fc.asyncProperty(request, async (r) => {
        const result = await rawProbe(at.ip, at.port, render(r), 4000);
        ok(result.closed || result.text.length > 0, `no hang: ${JSON.stringify(render(r))}`);
        if (result.text === '') return; // closed without a word: only for bytes that are not HTTP at all
        match(result.text, /^HTTP\/1\.[01] [1-5]\d\d /, JSON.stringify(render(r)));
        const final = result.text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
        const status = Number(final.slice(9, 12));
        const fromApp = /\r\nx-app: /i.test(final);
        if (status >= 400 && !fromApp) match(final, /\r\nx-skiff-reason: [a-z-]+\r\n/i, `${status} without a reason for ${JSON.stringify(render(r))}`);
      }), { numRuns: RUNS });
    });
  }

  test('an asterisk-form target (OPTIONS *, GET *) is refused with 400, and the sidecar keeps serving: it once wedged the upstream pool', async () => {
    for (const line of ['OPTIONS * HTTP/1.1', 'GET * HTTP/1.1', 'GET * HTTP/2.0']) {
      const result = await rawProbe(mesh.pod('client').ip, OUTBOUND_PORT, `${line}\r\nHost: api.shop\r\nConnection: close\r\n\r\n`, 4000);
      match(result.text, /^HTTP\/1\.1 400 [^]*x-skiff-reason: bad-request/i, line);
      equal((await mesh.request('client', 'http://api.shop/next')).status, 200, `a keep-alive request after ${line}`);
    }
  });

  test('after the fuzzing both sidecars still serve', async () => {
    equal((await mesh.request('client', 'http://api.shop/after')).status, 200);
    ok(mesh.pod('api').proxy?.state && mesh.pod('client').proxy?.state);
  });
});
