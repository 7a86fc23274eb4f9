/** `skiff validate <file|dir>…`: checks every SMI object of any version and reports like a compiler. */
import { parseArgs } from 'node:util';
import { isSmiDocument, parseSmiObject } from '../api/index.ts';
import type { Issue } from '../errors/issue.ts';
import { formatFileIssue, readYamlInputs, type FileIssue } from '../sources/files/read-yaml.ts';

export { formatFileIssue };

export const VALIDATE_USAGE = `Usage: skiff validate [--json] [--strict] <file|dir>...

Validates every SMI object (TrafficSplit, TrafficTarget, HTTPRouteGroup, TCPRoute,
UDPRoute; every served version) in the YAML or JSON files named, or found in the
folders named. Other Kubernetes documents are skipped.

  --json     print the findings as JSON
  --strict   treat warnings as errors
Exit status: 0 when no errors, 1 when errors were found, 2 on usage errors.`;

export interface ValidateReport {
  files: number;
  objects: number;
  errors: number;
  warnings: number;
  issues: FileIssue[];
}

export async function validatePaths(paths: readonly string[]): Promise<ValidateReport> {
  const { files, documents, issues } = await readYamlInputs(paths);
  const found: FileIssue[] = [...issues];
  let objects = 0;
  for (const doc of documents) {
    if (!isSmiDocument(doc.value)) continue;
    objects++;
    const parsed = parseSmiObject(doc.value);
    found.push(...parsed.issues.map((i: Issue) => ({ ...i, file: doc.file, line: i.path ? doc.lineOf(i.path) : doc.line })));
  }
  const order = new Map(files.map((f, i) => [f, i]));
  found.sort((a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) || (a.line ?? 0) - (b.line ?? 0));
  return {
    files: files.length,
    objects,
    errors: found.filter((i) => i.severity === 'error').length,
    warnings: found.filter((i) => i.severity === 'warning').length,
    issues: found,
  };
}


export async function runValidate(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    out(VALIDATE_USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    out(VALIDATE_USAGE);
    return 2;
  }
  const report = await validatePaths(positionals);
  if (values.json) {
    out(JSON.stringify(report, null, 2));
  } else {
    for (const i of report.issues) out(formatFileIssue(i));
    out(`${report.objects} SMI object${report.objects === 1 ? '' : 's'} in ${report.files} file${report.files === 1 ? '' : 's'}: ${report.errors} error${report.errors === 1 ? '' : 's'}, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}`);
  }
  return report.errors > 0 || (values.strict && report.warnings > 0) ? 1 : 0;
}
