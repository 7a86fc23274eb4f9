/**
 * Limits on the YAML Skiff reads from files (local mode's folder, `skiff validate`,
 * `skiff explain`): every file the control plane reads is size-capped and shape-checked
 * before the parser sees it, so a hostile or mistaken file costs bounded memory and time.
 */

export const YAML_LIMITS = {
  /** One file. Kubernetes refuses objects over ~1.5 MiB; manifests are far smaller. */
  maxFileBytes: 1024 * 1024,
  /** All YAML files of a folder together. */
  maxFolderBytes: 16 * 1024 * 1024,
  maxFolderFiles: 2000,
  /** Nesting of mappings, sequences and flow brackets. */
  maxDepth: 64,
  /** Alias expansions per document (billion-laughs defence, passed to the parser). */
  maxAliases: 100,
} as const;

/**
 * An upper bound of a YAML text's nesting, in one linear pass without parsing: the deepest
 * flow nesting (`[`/`{` outside quotes and comments) plus the deepest block nesting, counted
 * from indentation and leading `- ` / `? ` markers. It may overestimate (a bracket inside a
 * plain scalar counts), never underestimate, so a text under the limit is safe to parse.
 */
export function nestingBound(text: string): number {
  let deepest = 0;
  let flow = 0;
  let lineStart = true;
  let blockDepth = 0;
  let quote: '"' | "'" | undefined;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      lineStart = true;
      comment = false;
      blockDepth = 0;
      if (quote === "'") quote = undefined;
      continue;
    }
    if (comment) continue;
    if (lineStart) {
      if (c === ' ') {
        blockDepth += 0.5;
        continue;
      }
      if ((c === '-' || c === '?') && text[i + 1] === ' ') {
        blockDepth += 1;
        i++;
        continue;
      }
      lineStart = false;
      deepest = Math.max(deepest, Math.ceil(blockDepth) + flow);
    }
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) comment = true;
    else if (c === '[' || c === '{') {
      flow++;
      deepest = Math.max(deepest, Math.ceil(blockDepth) + flow);
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return deepest;
}
