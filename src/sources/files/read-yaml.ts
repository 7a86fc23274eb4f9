/**
 * Reads Kubernetes-style YAML (multi-document, `kind: List` expanded) from files and folders,
 * keeping for every document a way to find the line of any field, so that problems can be
 * reported as `file:line:`. Broken YAML becomes an Issue with its line; nothing throws.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isSeq, type Document } from 'yaml';
import { formatIssue, issue, type Issue } from '../../errors/issue.ts';

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

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => (e.isDirectory() ? listFiles(join(path, e.name)) : YAML_EXTENSIONS.has(extname(e.name)) ? Promise.resolve([join(path, e.name)]) : Promise.resolve([]))),
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
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
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
      issues.push({ ...issue('SKIFF_E_YAML_SYNTAX', '', err instanceof Error ? err.message : String(err)), file, line: 1 });
    }
  }
  return { documents, issues };
}

/** Reads every .yaml, .yml and .json file named or found (recursively, sorted) under the paths. */
export async function readYamlInputs(paths: readonly string[]): Promise<{ files: string[]; documents: LoadedDocument[]; issues: FileIssue[] }> {
  const files: string[] = [];
  const documents: LoadedDocument[] = [];
  const issues: FileIssue[] = [];
  for (const path of paths) {
    let found: string[];
    try {
      found = await listFiles(path);
    } catch (err) {
      issues.push({ ...issue('SKIFF_E_FILE_READ', '', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`), file: path });
      continue;
    }
    for (const file of found) {
      files.push(file);
      const parsed = parseYamlText(file, await readFile(file, 'utf8'));
      documents.push(...parsed.documents);
      issues.push(...parsed.issues);
    }
  }
  return { files, documents, issues };
}
