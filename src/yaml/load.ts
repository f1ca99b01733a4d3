import { readFileSync } from 'node:fs';
import YAML, { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import { ConfigError, type SourcePos } from '../errors.js';
import { joinPath } from './path.js';
import { rememberPositions, type PositionIndex } from './positions.js';

export interface LoadedYaml {
  file: string;
  value: unknown;
  /** positions of every key and value, by dotted key path (prefixed with `root`) */
  positions: PositionIndex;
}

/**
 * Reads a YAML file into plain JS values and records where each key and value is, so later
 * errors can name file:line:col. `root` prefixes every key path (e.g. "plays" for playbooks).
 * Throws a ConfigError for syntax errors, undefined aliases and an unreadable file.
 */
export function loadYamlFile(file: string, root = ''): LoadedYaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError({ file }, '', code === 'ENOENT' ? 'file not found' : `cannot read file: ${(err as Error).message}`);
  }
  return parseYaml(text, file, root);
}

export function parseYaml(text: string, file: string, root = ''): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem) {
    const at = lineCounter.linePos(problem.pos[0]);
    const message = problem.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError({ file, line: at.line, col: at.col }, '', `YAML syntax error: ${message}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigError({ file, line: 1, col: 1 }, '', `YAML error: ${(err as Error).message}`);
  }
  const positions: PositionIndex = new Map();
  const pos = (offset: number): SourcePos => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  walk(doc, doc.contents, root, positions, pos, 0);
  if (!positions.has(root)) positions.set(root, { value: { file, line: 1, col: 1 } });
  rememberPositions(file, positions);
  return { file, value, positions };
}

function walk(
  doc: Document,
  node: unknown,
  path: string,
  index: PositionIndex,
  pos: (offset: number) => SourcePos,
  depth: number,
  keyPos?: SourcePos,
): void {
  if (depth > 100) return;
  if (isAlias(node)) {
    // the value of an alias lives at the anchor; errors point at the alias itself
    const target = node.resolve(doc);
    const here = node.range ? pos(node.range[0]) : keyPos;
    if (!index.has(path) && here) index.set(path, { key: keyPos, value: here });
    if (target) walkChildren(doc, target, path, index, pos, depth);
    return;
  }
  const n = node as Node | null;
  const here = n?.range ? pos(n.range[0]) : keyPos;
  if (!index.has(path) && here) index.set(path, { key: keyPos, value: here });
  if (n) walkChildren(doc, n, path, index, pos, depth);
}

function walkChildren(doc: Document, node: Node, path: string, index: PositionIndex, pos: (offset: number) => SourcePos, depth: number): void {
  if (isMap(node)) {
    const merges: unknown[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === 'symbol' || key === '<<') {
        merges.push(pair.value);
        continue;
      }
      const keyNode = pair.key as Node | null;
      const keyAt = keyNode?.range ? pos(keyNode.range[0]) : undefined;
      const valueNode = pair.value as Node | null;
      // a key with no value (`web1:`) has an empty scalar positioned after the key; point at the key
      const emptyValue = isScalar(valueNode) && valueNode.value === null && valueNode.source === '';
      walk(doc, emptyValue ? null : valueNode, joinPath(path, String(key)), index, pos, depth + 1, keyAt);
    }
    // merged keys (`<<: *base`) point at their anchor's definition unless set explicitly
    for (const merged of merges) {
      const sources = isSeq(merged) ? merged.items : [merged];
      for (const source of sources) {
        const target = isAlias(source) ? source.resolve(doc) : (source as Node);
        if (target) walkChildren(doc, target, path, index, pos, depth + 1);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(doc, item, joinPath(path, String(i)), index, pos, depth + 1));
  }
}
