/**
 * The folder watcher emits the folder's states in the order it had them, even when a read is
 * slow; folders removed while it reads (a namespace deleted) never make it read the rest as gone.
 */
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

const service = (name: string, namespace: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: {ports: [{port: 80}]}\n`;
const namesOf = (state: FolderState) => state.documents.map((d) => (d as { metadata: { namespace: string; name: string } }).metadata).map((m) => `${m.namespace}/${m.name}`);

test('namespaces removed while the folder is read never make a read miss the others; a removed folder keeps its last state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-folder-'));
  mkdirSync(join(dir, 'kept'));
  writeFileSync(join(dir, 'kept', 'service.web.yaml'), service('web', 'kept'));
  const churned = (n: number) => join(dir, `gone-${String(n).padStart(3, '0')}`);
  const watcher = new FolderWatcher(dir);
  try {
    deepEqual(namesOf(await watcher.start()), ['kept/web']);
    // Folders come and go while the folder is read again and again, as the conformance suite
    // deletes a finished scenario's namespace: each read must still hold kept/web (before the
    // fix a folder removed between the listing and its own listing failed the whole read).
    let reads = 0;
    for (let round = 0; round < 15; round++) {
      for (let n = 0; n < 40; n++) {
        mkdirSync(churned(n));
        for (let f = 0; f < 5; f++) writeFileSync(join(churned(n), `service.s${f}.yaml`), service(`s${f}`, `gone-${n}`));
      }
      const removing = (async () => {
        for (let n = 0; n < 40; n++) {
          rmSync(churned(n), { recursive: true, force: true });
          await sleep(0);
        }
      })();
      let done = false;
      void removing.then(() => { done = true; });
      while (!done) {
        const state = await watcher.read();
        reads += 1;
        ok(namesOf(state).includes('kept/web'), `read ${reads} lost kept/web: ${state.problems.join('; ')}`);
        deepEqual(state.problems, [], `read ${reads}`);
      }
    }
    ok(reads >= 15);
    // Read once more with every removal done (the last read of a round may have been under way
    // while folders went), then remove the watched folder itself: what was read last stays in
    // force, with the problem named.
    deepEqual(namesOf(await watcher.read()), ['kept/web']);
    rmSync(dir, { recursive: true, force: true });
    const after = await watcher.read();
    deepEqual(namesOf(after), ['kept/web']);
    equal(after.problems.length, 1);
    match(after.problems[0] as string, /cannot read .*ENOENT.*last good state stays in force/);
  } finally {
    watcher.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
