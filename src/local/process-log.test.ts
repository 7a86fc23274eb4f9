/** Local mode's process output: the bounded log file per process, and what the live view shows. */
import { describe, it } from 'node:test';
import { equal, ok } from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessLog, viewLine } from './process-log.ts';
import { eventLevel, PROBLEM_EVENTS } from '../proxy/events.ts';

const sidecarLine = (level: number, event: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level, time: 1796373698025, component: 'skiff-proxy', proxy: 'shop/buyer-0', event, ...extra });

describe('local mode: what the live view shows of a process', () => {
  it("an app's lines as they are, cut at 200 characters", () => {
    equal(viewLine('buyer-0', 'buyer: last 10s 193 requests', false), 'buyer-0: buyer: last 10s 193 requests');
    equal(viewLine('buyer-0', '{"level":30,"msg":"an app that logs JSON"}', false), 'buyer-0: {"level":30,"msg":"an app that logs JSON"}');
    equal(viewLine('buyer-0', 'x'.repeat(500), false)?.length, 200);
  });

  it("a sidecar's routine events stay in its log; its problems are shown in a short form", () => {
    equal(viewLine('buyer-0/sidecar', sidecarLine(30, 'config-applied', { hash: 'abc' }), true), undefined);
    equal(viewLine('buyer-0/sidecar', sidecarLine(30, 'heap-trim', { available: true }), true), undefined);
    equal(viewLine('buyer-0/sidecar', sidecarLine(40, 'certificate-error', { error: 'refused (403)', attempt: 2 }), true), 'buyer-0/sidecar: warn certificate-error error=refused (403) attempt=2');
    equal(viewLine('buyer-0/sidecar', sidecarLine(50, 'config-rejected', { problems: ['a'] }), true), 'buyer-0/sidecar: error config-rejected problems=["a"]');
  });

  it("a sidecar's line that is not its JSON (a crash, a stack) is shown as it is", () => {
    equal(viewLine('buyer-0/sidecar', 'Error: boom', true), 'buyer-0/sidecar: Error: boom');
    equal(viewLine('buyer-0/sidecar', '{not json', true), 'buyer-0/sidecar: {not json');
    equal(viewLine('buyer-0/sidecar', '{"msg":"no level"}', true), 'buyer-0/sidecar: warn no level');
  });

  it('every problem event is logged at warning level, the routine ones at info', () => {
    for (const event of PROBLEM_EVENTS) equal(eventLevel(event), 'warn', event);
    for (const event of ['config-applied', 'certificate-issued', 'stream-connected', 'heap-trim', 'listening']) equal(eventLevel(event), 'info', event);
  });
});

describe('local mode: a process log file', () => {
  it('keeps every byte, then moves to <file>.1 past its bound, so it never holds more than twice the bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-log-'));
    try {
      const file = join(dir, 'app.log');
      const log = new ProcessLog(file, 1000);
      log.note('started node (pid 1)');
      for (let i = 0; i < 100; i++) log.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(40)}\n`);
      log.close();
      ok(existsSync(`${file}.1`), 'the old part is kept');
      ok(statSync(file).size <= 1000 && statSync(`${file}.1`).size <= 1000, 'both within the bound');
      const text = readFileSync(`${file}.1`, 'utf8') + readFileSync(file, 'utf8');
      ok(text.endsWith(`line 099 ${'x'.repeat(40)}\n`), 'the newest line is last');
      // Lines are whole in each file: a write never straddles the two.
      for (const part of [readFileSync(file, 'utf8'), readFileSync(`${file}.1`, 'utf8')]) ok(/^(line \d{3} x{40}\n)+$/.test(part), part.slice(0, 80));
      // Opened again (a restart of skiff up), it appends and counts what is there.
      const again = new ProcessLog(file, 1000);
      again.note('started node (pid 2)');
      again.close();
      ok(readFileSync(file, 'utf8').includes('started node (pid 2)'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a folder removed under it stops the log, never the caller', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-log-'));
    const log = new ProcessLog(join(dir, 'app.log'), 100);
    log.write('before\n');
    rmSync(dir, { recursive: true, force: true });
    // Past the bound it rotates into a folder that is gone: nothing is written, nothing throws.
    for (let i = 0; i < 10; i++) log.write('still running, the folder gone\n');
    log.close();
    equal(existsSync(dir), false);
    const never = new ProcessLog(join(dir, 'nowhere', 'app.log'));
    never.write('nothing\n');
    never.close();
  });
});
