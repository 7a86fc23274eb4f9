/**
 * A folder of Kubernetes-style YAML, watched. A change (an fs event, or a poll once a second)
 * stats every file and re-parses only files whose size, time or inode changed; files over the
 * size and nesting limits are refused unread. A file that no longer parses, or an SMI object
 * that no longer validates, is reported and its last good version stays in force, so a
 * half-typed edit never breaks a running mesh.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { isSmiDocument, parseSmiObject } from '../api/index.ts';
import { formatIssue, hasErrors } from '../errors/issue.ts';
import { formatFileIssue, readYamlInputs, YamlFileCache } from '../sources/files/read-yaml.ts';

export interface FolderState {
  documents: unknown[];
  problems: string[];
}

function objectKey(doc: unknown): string | undefined {
  const d = doc as { apiVersion?: string; kind?: string; metadata?: { namespace?: string; name?: string } };
  return d?.kind ? `${d.kind}/${d.metadata?.namespace ?? 'default'}/${d.metadata?.name ?? ''}` : undefined;
}

export class FolderWatcher extends EventEmitter<{ change: [FolderState] }> {
  private readonly dir: string;
  private readonly lastGoodFile = new Map<string, unknown[]>();
  private readonly lastGoodObject = new Map<string, unknown>();
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText = '';
  /** The documents of the last read that could list the folder. */
  private lastDocuments: unknown[] = [];
  private reading = false;
  /** A change came while a read was under way: read again after it. */
  private again = false;
  private stopped = false;
  /** Which files were read and how many parses had happened at the last read. */
  private lastRead = '';
  readonly cache = new YamlFileCache();

  constructor(dir: string) {
    super();
    this.dir = dir;
  }

  async read(): Promise<FolderState> {
    const { files, documents, issues } = await readYamlInputs([this.dir], this.cache);
    // The folder itself could not be listed (removed, or no longer readable): that says nothing
    // about the mesh, so what was read last stays in force (an empty read would stop every pod).
    const unlisted = issues.find((i) => i.file === this.dir);
    if (unlisted) {
      this.lastRead = 'unlisted';
      return { documents: this.lastDocuments, problems: [`${formatFileIssue(unlisted)} (the folder's last good state stays in force)`] };
    }
    this.lastRead = `${this.cache.parses}\u0000${files.join('\u0000')}`;
    const problems: string[] = [];
    const byFile = new Map<string, unknown[]>();
    for (const file of files) byFile.set(file, []);
    for (const d of documents) byFile.get(d.file)?.push(d.value);
    const broken = new Set(issues.map((i) => i.file));
    for (const i of issues) problems.push(`${formatFileIssue(i)} (the file's last good version stays in force)`);
    const out: unknown[] = [];
    for (const [file, docs] of byFile) {
      const use = broken.has(file) ? (this.lastGoodFile.get(file) ?? []) : docs;
      if (!broken.has(file)) this.lastGoodFile.set(file, docs);
      for (const doc of use) {
        const key = objectKey(doc);
        if (key && isSmiDocument(doc)) {
          const parsed = parseSmiObject(doc);
          if (hasErrors(parsed.issues)) {
            const previous = this.lastGoodObject.get(key);
            for (const i of parsed.issues.filter((x) => x.severity === 'error')) problems.push(`${file}: ${formatIssue(i)}${previous ? ' (its last good version stays in force)' : ''}`);
            if (previous) out.push(previous);
            continue;
          }
          this.lastGoodObject.set(key, doc);
        }
        out.push(doc);
      }
    }
    this.lastDocuments = out;
    return { documents: out, problems };
  }

  async start(): Promise<FolderState> {
    const first = await this.read();
    this.lastText = JSON.stringify(first);
    try {
      this.watcher = watch(this.dir, { recursive: true }, (_event, name) => {
        if (name && !String(name).startsWith('.skiff')) this.schedule();
      });
    } catch {
      // Polling below.
    }
    this.poll = setInterval(() => this.schedule(), 1000);
    this.poll.unref();
    return first;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.refresh(), 5);
  }

  /**
   * Reads the folder and emits what changed, one read at a time: a change noticed while a
   * read is under way is read after it. Two reads at once could end in the other order: the
   * older folder was then emitted last, and stayed in force until the next edit (the polls
   * after it found no file to parse again).
   */
  private async refresh(): Promise<void> {
    this.timer = undefined;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        const before = this.lastRead;
        const state = await this.read();
        if (this.stopped || this.lastRead === before) continue; // nothing was re-parsed and no file came or went
        const text = JSON.stringify(state);
        if (text === this.lastText) continue;
        this.lastText = text;
        this.emit('change', state);
      } while (this.again && !this.stopped);
    } finally {
      this.reading = false;
    }
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
  }
}
