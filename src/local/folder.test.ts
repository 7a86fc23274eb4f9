/** The folder watcher emits the folder's states in the order it had them, even when a read is slow. */
import { deepEqual, ok } from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FolderWatcher, type FolderState } from './folder.ts';

const namespace = (version: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    version: "${version}"\n`;
const versionOf = (state: FolderState) => (state.documents[0] as { metadata: { annotations: { version: string } } }).metadata.annotations.version;

/** A watcher whose second read of the folder (the first after start) is slow to finish. */
class SlowSecondRead extends FolderWatcher {
  reads = 0;
  release: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => { this.release = resolve; });

  override async read(): Promise<FolderState> {
    this.reads += 1;
    const slow = this.reads === 2;
    const state = await super.read();
    if (slow) await this.gate;
    return state;
  }
}

test('a change made while a read is slow is emitted after that read, never overtaken by it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-folder-'));
  const file = join(dir, 'mesh.yaml');
  const write = (version: string) => {
    writeFileSync(`${file}.tmp`, namespace(version));
    renameSync(`${file}.tmp`, file);
  };
  write('1');
  const watcher = new SlowSecondRead(dir);
  const emitted: string[] = [];
  watcher.on('change', (state) => emitted.push(versionOf(state)));
  try {
    deepEqual(versionOf(await watcher.start()), '1');
    write('2');
    for (let i = 0; i < 100 && watcher.reads < 2; i++) await sleep(20);
    ok(watcher.reads >= 2, 'the folder was read again after the change');
    await sleep(50);
    // The slow read has version 2 in hand; version 3 arrives while it is held, and is noticed
    // (an fs event or, at the latest, the poll once a second).
    write('3');
    await sleep(1300);
    watcher.release();
    for (let i = 0; i < 100 && emitted.at(-1) !== '3'; i++) await sleep(20);
    deepEqual(emitted, ['2', '3'], 'each version once, in the order the folder had them');
    // And it stays so: the poll finds nothing newer to say.
    await sleep(1200);
    deepEqual(emitted, ['2', '3']);
  } finally {
    watcher.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
