import { readFileSync } from 'node:fs';
import YAML, { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, visit, type Alias, type Document, type Node } from 'yaml';
import { ConfigError, type SourcePos } from '../errors.js';
import { joinPath } from './path.js';
import { rememberPositions, type PositionIndex } from './positions.js';
import { precompiled } from './precompiled.js';
import { decodeUtf8 } from './utf8.js';

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
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError({ file }, '', code === 'ENOENT' ? 'file not found' : `cannot read file: ${(err as Error).message}`);
  }
  const text = decodeUtf8(bytes, file);
  const built = precompiled(file, text, root);
  if (built) {
    rememberPositions(file, built.positions);
    return { file, ...built };
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
  const pos = (offset: number): SourcePos => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  const resolve = anchorResolver(doc);
  checkAliases(doc, resolve, pos);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigError({ file, line: 1, col: 1 }, '', `YAML error: ${(err as Error).message}`);
  }
  const positions: PositionIndex = new Map();
  walk(resolve, doc.contents, root, positions, pos, 0);
  if (!positions.has(root)) positions.set(root, { value: { file, line: 1, col: 1 } });
  rememberPositions(file, positions);
  return { file, value, positions };
}

type Resolve = (alias: Alias) => Node | undefined;

/**
 * What an alias points at: the last node before it with its anchor, as Alias.resolve() finds it,
 * but from one pass over the document (Alias.resolve without a context walks the whole document
 * for every alias, a third of validating the bundled playbooks).
 */
function anchorResolver(doc: Document): Resolve {
  const anchored = new Map<string, Node[]>();
  visit(doc, {
    Node: (_key, node) => {
      const name = isAlias(node) ? undefined : (node as { anchor?: string }).anchor;
      if (!name) return;
      const nodes = anchored.get(name);
      if (nodes) nodes.push(node as Node);
      else anchored.set(name, [node as Node]);
    },
  });
  return (alias) => {
    const at = alias.range?.[0] ?? Infinity;
    const candidates = anchored.get(alias.source) ?? [];
    for (let i = candidates.length - 1; i >= 0; i--) if ((candidates[i]!.range?.[0] ?? 0) < at) return candidates[i];
    return undefined;
  };
}

/** Values all aliases of a document may stand for together (each use counts its anchor's whole node). */
const MAX_ALIASED_VALUES = 100_000;

/**
 * Refuses, naming the alias: an alias inside the node its anchor names (a value that contains
 * itself; every consumer would recurse forever), and aliases that together stand for more than
 * MAX_ALIASED_VALUES values (an alias bomb: a few lines that expand to billions).
 */
function checkAliases(doc: Document, resolve: Resolve, pos: (offset: number) => SourcePos): void {
  const aliases: Array<{ alias: Alias; target: Node }> = [];
  visit(doc, {
    Alias: (_key, alias) => {
      const target = resolve(alias);
      if (!target) return;
      const [start, , end] = target.range ?? [0, 0, 0];
      const at = alias.range?.[0] ?? 0;
      if (start <= at && at < end) {
        throw new ConfigError(pos(at), '', `YAML alias *${alias.source} is inside the value its anchor &${alias.source} names: a value that contains itself cannot be read`);
      }
      aliases.push({ alias, target });
    },
  });
  const sizes = new Map<Node, number>();
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const target = resolve(node);
      return target ? size(target) : 1;
    }
    if (!isMap(node) && !isSeq(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let n = 1;
    for (const item of node.items) n += isPair(item) ? size(item.key) + size(item.value) : size(item);
    sizes.set(node, n);
    return n;
  };
  let total = 0;
  for (const { alias, target } of aliases) {
    total += size(target);
    if (total > MAX_ALIASED_VALUES) {
      throw new ConfigError(pos(alias.range?.[0] ?? 0), '', `YAML aliases stand for more than ${MAX_ALIASED_VALUES} values by here (an alias bomb?); write the values out instead`);
    }
  }
}

function walk(
  resolve: Resolve,
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
    const target = resolve(node);
    const here = node.range ? pos(node.range[0]) : keyPos;
    if (!index.has(path) && here) index.set(path, { key: keyPos, value: here });
    if (target) walkChildren(resolve, target, path, index, pos, depth);
    return;
  }
  const n = node as Node | null;
  const here = n?.range ? pos(n.range[0]) : keyPos;
  if (!index.has(path) && here) index.set(path, { key: keyPos, value: here });
  if (n) walkChildren(resolve, n, path, index, pos, depth);
}

function walkChildren(resolve: Resolve, node: Node, path: string, index: PositionIndex, pos: (offset: number) => SourcePos, depth: number): void {
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
      walk(resolve, emptyValue ? null : valueNode, joinPath(path, String(key)), index, pos, depth + 1, keyAt);
    }
    // merged keys (`<<: *base`) point at their anchor's definition unless set explicitly
    for (const merged of merges) {
      const sources = isSeq(merged) ? merged.items : [merged];
      for (const source of sources) {
        const target = isAlias(source) ? resolve(source) : (source as Node);
        if (target) walkChildren(resolve, target, path, index, pos, depth + 1);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(resolve, item, joinPath(path, String(i)), index, pos, depth + 1));
  }
}
