import { deepStrictEqual, equal } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

// The sample app itself, as a process on loopback: its HTTP, TCP and UDP calls and echoes.
const base = 20000 + (process.pid % 2000) * 4;
const ports = { http: base, tcp: base + 1, udp: base + 2 };
let app: ReturnType<typeof spawn>;

async function call(url: string): Promise<{ status: number; body: { status?: number; body?: string; error?: string } }> {
  const r = await fetch(`http://127.0.0.1:${ports.http}/call`, { method: 'POST', body: JSON.stringify({ url }) });
  return { status: r.status, body: await r.json() as { status?: number; body?: string } };
}

before(async () => {
  app = spawn(process.execPath, [join(import.meta.dirname, 'sample-app.mjs')], {
    env: { ...process.env, SERVICE_NAME: 'app-x', PORT: String(ports.http), TCP_PORT: String(ports.tcp), UDP_PORT: String(ports.udp) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    app.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if ((out.match(/listening|echoing/g) ?? []).length === 3) resolve();
    });
    app.on('exit', (code) => reject(new Error(`the sample app exited (${code})`)));
  });
});
after(() => app.kill());

test('tcp:// and udp:// calls are answered by the echo and counted on both sides', async () => {
  await fetch(`http://127.0.0.1:${ports.http}/metrics`, { method: 'DELETE' });
  deepStrictEqual((await call(`tcp://127.0.0.1:${ports.tcp}`)).body, { status: 200, body: 'app-x app-x' });
  deepStrictEqual((await call(`udp://127.0.0.1:${ports.udp}`)).body, { status: 200, body: 'app-x app-x' });
  const metrics = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).json() as { ReqReceived: string[]; RespSucceeded: unknown[]; RespFailed: unknown[] };
  deepStrictEqual(metrics.ReqReceived, ['', 'app-x', '', 'app-x'], 'each /call (no caller header here) and each echo');
  equal(metrics.RespSucceeded.length, 2);
  equal(metrics.RespFailed.length, 0);
});

test('a TCP connection that ends unanswered, and a datagram with no answer, are failures, not errors', async () => {
  const closer = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await new Promise((r) => closer.once('listening', r));
  const closed = await call(`tcp://127.0.0.1:${(closer.address() as net.AddressInfo).port}`);
  closer.close();
  equal(closed.status, 200);
  equal(closed.body.status, 0);
  const silent = await call(`udp://127.0.0.1:${ports.udp + 1}`);
  equal(silent.body.status, 0);
  const metrics = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).json() as { RespFailed: unknown[] };
  equal(metrics.RespFailed.length, 2);
  equal((await call('tcp://no-such-host.invalid:1')).status, 500);
});

test('the TCP echo drops a line longer than 1 KiB', async () => {
  const socket = net.connect(ports.tcp, '127.0.0.1');
  socket.write('x'.repeat(2000));
  const ended = await new Promise<string>((resolve) => {
    socket.on('data', () => resolve('answered'));
    socket.on('close', () => resolve('closed'));
  });
  equal(ended, 'closed');
});
