/**
 * Reads Kubernetes-style YAML (multi-document, `kind: List` expanded) from files and folders,
 * keeping for every document a way to find the line of any field, so that problems can be
 * reported as `file:line:`. Broken YAML becomes an Issue with its line; nothing throws.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isSeq, type Document } from 'yaml';
import { formatIssue, issue, type Issue } from '../../errors/issue.ts';
import { nestingBound, YAML_LIMITS } from './yaml-limits.ts';

export interface LoadedDocument {
  file: string;
  /** 1-based line where the document (or List item) starts. */
  line: number;
  value: unknown;
  /** The 1-based line of a field path such as `spec.backends[1].weight`, or of its nearest parent. */
  lineOf(path: string): number;
}

export interface FileIssue extends Issue {
  file: string;
  line?: number;
}

/** `file:line: Kind/ns/name: path: message [CODE]`, the compiler-like form every command prints. */
export function formatFileIssue(i: FileIssue): string {
  return `${i.file}${i.line !== undefined ? `:${i.line}` : ''}: ${formatIssue(i)}`;
}

const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** `spec.backends[1].weight` → ['spec', 'backends', 1, 'weight']. */
export function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  return out;
}

/** What vanished between being listed and being looked at: it is simply not there any more. */
const gone = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * The YAML files under a path, sorted. A folder or file that goes away while the walk is under
 * way (a namespace's folder removed, a file replaced) is left out, as it would be a moment
 * later: only the path itself failing is an error. (A vanished subfolder used to fail the whole
 * walk, and a watched folder then read as empty: local mode stopped every pod of the mesh.)
 */
async function listFiles(path: string, top = true): Promise<string[]> {
  let entries;
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return [path];
    entries = await readdir(path, { withFileTypes: true });
  } catch (err) {
    if (!top && gone(err)) return [];
    throw err;
  }
  const nested = await Promise.all(
    entries
      .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => (e.isDirectory() ? listFiles(join(path, e.name), false) : YAML_EXTENSIONS.has(extname(e.name)) ? Promise.resolve([join(path, e.name)]) : Promise.resolve([]))),
  );
  return nested.flat();
}

function documentsOf(file: string, doc: Document, counter: LineCounter): LoadedDocument[] {
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : counter.linePos(offset).line);
  const lineOfPath = (prefix: (string | number)[]) => (path: string): number => {
    const parts = [...prefix, ...parsePath(path)];
    for (let n = parts.length; n >= 0; n--) {
      const node = doc.getIn(parts.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lineAt(node.range[0]);
    }
    return lineAt(doc.contents?.range?.[0]);
  };
  const value: unknown = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliases });
  const items = doc.get('items', true);
  if (isMap(doc.contents) && doc.get('kind') === 'List' && isSeq(items)) {
    return items.items.map((item, i) => ({
      file,
      line: lineAt((item as { range?: [number, number, number] }).range?.[0]),
      value: (value as { items: unknown[] }).items[i],
      lineOf: lineOfPath(['items', i]),
    }));
  }
  return [{ file, line: lineAt(doc.contents?.range?.[0]), value, lineOf: lineOfPath([]) }];
}

/** Parses one YAML text; `file` is only used in reports. */
export function parseYamlText(file: string, text: string): { documents: LoadedDocument[]; issues: FileIssue[] } {
  const counter = new LineCounter();
  const documents: LoadedDocument[] = [];
  const issues: FileIssue[] = [];
  if (text.length > YAML_LIMITS.maxFileBytes) {
    return { documents, issues: [{ ...issue('SKIFF_E_FILE_TOO_LARGE', '', `the text is ${text.length} bytes; at most ${YAML_LIMITS.maxFileBytes} are read`), file }] };
  }
  const depth = nestingBound(text);
  if (depth > YAML_LIMITS.maxDepth) {
    return { documents, issues: [{ ...issue('SKIFF_E_YAML_TOO_DEEP', '', `the text nests about ${depth} levels deep; at most ${YAML_LIMITS.maxDepth} are read`), file, line: 1 }] };
  }
  for (const doc of parseAllDocuments(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true })) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const line = counter.linePos(e.pos[0]).line;
        issues.push({ ...issue('SKIFF_E_YAML_SYNTAX', '', e.message.split('\n')[0] ?? 'invalid YAML'), file, line });
      }
      continue;
    }
    if (doc.contents === null) continue;
    try {
      documents.push(...documentsOf(file, doc, counter));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      issues.push({ ...issue(/alias/i.test(message) ? 'SKIFF_E_YAML_TOO_DEEP' : 'SKIFF_E_YAML_SYNTAX', '', message), file, line: 1 });
    }
  }
  return { documents, issues };
}

export interface ParsedFile {
  documents: LoadedDocument[];
  issues: FileIssue[];
}

/** What `YamlFileCache.read` answers for a file removed since it was listed (a new object: callers may push to its lists). */
const goneFile = (): ParsedFile & { bytes: number; gone: true } => ({ documents: [], issues: [], bytes: 0, gone: true });

/**
 * Parsed files, re-read only when their size, modification time or inode changed: watching a
 * folder costs a stat per file per poll, not a parse. Files over the size cap are never read.
 */
export class YamlFileCache {
  private readonly entries = new Map<string, { signature: string; parsed: ParsedFile }>();
  /** Files parsed since the cache was made (tests check that unchanged files are not). */
  parses = 0;

  /** A file's documents; `gone` when it was removed since it was listed (it is then not part of the read). */
  async read(file: string): Promise<ParsedFile & { bytes: number; gone?: true }> {
    const unreadable = (err: unknown) => ({ documents: [], issues: [{ ...issue('SKIFF_E_FILE_READ', '', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`), file }], bytes: 0 });
    let info;
    try {
      info = await stat(file);
    } catch (err) {
      return gone(err) ? goneFile() : unreadable(err);
    }
    const signature = `${info.size}:${info.mtimeMs}:${info.ctimeMs}:${info.ino}`;
    const cached = this.entries.get(file);
    if (cached?.signature === signature) return { ...cached.parsed, bytes: info.size };
    let parsed: ParsedFile;
    if (info.size > YAML_LIMITS.maxFileBytes) {
      parsed = { documents: [], issues: [{ ...issue('SKIFF_E_FILE_TOO_LARGE', '', `${info.size} bytes; at most ${YAML_LIMITS.maxFileBytes} are read`), file }] };
    } else {
      let text;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        return gone(err) ? goneFile() : unreadable(err);
      }
      this.parses++;
      parsed = parseYamlText(file, text);
    }
    this.entries.set(file, { signature, parsed });
    return { ...parsed, bytes: info.size };
  }

  /** Forgets files no longer present. */
  retain(files: ReadonlySet<string>): void {
    for (const file of this.entries.keys()) if (!files.has(file)) this.entries.delete(file);
  }
}

/** Reads every .yaml, .yml and .json file named or found (recursively, sorted) under the paths. */
export async function readYamlInputs(paths: readonly string[], cache = new YamlFileCache()): Promise<{ files: string[]; documents: LoadedDocument[]; issues: FileIssue[] }> {
  const files: string[] = [];
  const documents: LoadedDocument[] = [];
  const issues: FileIssue[] = [];
  let bytes = 0;
  for (const path of paths) {
    let found: string[];
    try {
      found = await listFiles(path);
    } catch (err) {
      issues.push({ ...issue('SKIFF_E_FILE_READ', '', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`), file: path });
      continue;
    }
    for (const file of found) {
      if (files.length >= YAML_LIMITS.maxFolderFiles || bytes > YAML_LIMITS.maxFolderBytes) {
        issues.push({ ...issue('SKIFF_E_FILE_TOO_LARGE', '', `not read: more than ${YAML_LIMITS.maxFolderFiles} files or ${YAML_LIMITS.maxFolderBytes} bytes of YAML in all`), file });
        continue;
      }
      const parsed = await cache.read(file);
      if (parsed.gone) continue;
      files.push(file);
      bytes += parsed.bytes;
      documents.push(...parsed.documents);
      issues.push(...parsed.issues);
    }
  }
  cache.retain(new Set(files));
  return { files, documents, issues };
}
