import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/* The rooms of src/ (each top-level folder, and each file directly in src/) and the imports between them.
   Every relative `import … from` / `export … from` / `import('…')` counts, type-only ones included:
   a type import is still an arrow from one layer to another. */

export interface RoomImport { from: string; to: string; line: number; specifier: string }
export interface RoomGraph { rooms: string[]; imports: RoomImport[] }

const specifiers = /(?:\bimport\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?|\bexport\s+(?:type\s+)?[^'";]*?\s+from\s+|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** `inventory` for src/inventory/x.ts, `argv.ts` for src/argv.ts. */
export function roomOf(srcDir: string, file: string): string {
  return relative(srcDir, file).split('/')[0]!;
}

export function roomGraph(srcDir: string): RoomGraph {
  const files = tsFiles(srcDir);
  const rooms = [...new Set(files.map((f) => roomOf(srcDir, f)))].sort();
  const imports: RoomImport[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(specifiers)) {
      const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      if (relative(srcDir, target).startsWith('..')) continue;
      const from = roomOf(srcDir, file);
      const to = roomOf(srcDir, target);
      if (from === to) continue;
      imports.push({ from, to, line: text.slice(0, m.index).split('\n').length, specifier: `${relative(srcDir, file)} → ${m[1]}` });
    }
  }
  return { rooms, imports };
}

/** The strongly connected components with more than one room (Tarjan), each sorted, largest first. */
export function roomCycles(graph: RoomGraph): string[][] {
  const next = new Map<string, Set<string>>(graph.rooms.map((r) => [r, new Set()]));
  for (const i of graph.imports) next.get(i.from)!.add(i.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (room: string): void => {
    index.set(room, counter);
    low.set(room, counter++);
    stack.push(room);
    onStack.add(room);
    for (const to of next.get(room) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(room, Math.min(low.get(room)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(room, Math.min(low.get(room)!, index.get(to)!));
    }
    if (low.get(room) === index.get(room)) {
      const component: string[] = [];
      let r: string;
      do {
        r = stack.pop()!;
        onStack.delete(r);
        component.push(r);
      } while (r !== room);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const room of graph.rooms) if (!index.has(room)) visit(room);
  return components.sort((a, b) => b.length - a.length);
}

/** A cycle as the reader needs it: its rooms, and for each arrow between two of them the imports that make it. */
export function describeCycle(graph: RoomGraph, component: string[]): string {
  const inside = new Set(component);
  const arrows = new Map<string, string[]>();
  for (const i of graph.imports.filter((i) => inside.has(i.from) && inside.has(i.to))) {
    const key = `${i.from} → ${i.to}`;
    arrows.set(key, [...(arrows.get(key) ?? []), `${i.specifier} (line ${i.line})`]);
  }
  return [`cycle: ${component.join(', ')}`, ...[...arrows].map(([arrow, why]) => `  ${arrow}: ${why.join('; ')}`)].join('\n');
}

/* `node dist/test/helpers/folder-cycles.js [src]` prints the rooms and every cycle. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const graph = roomGraph(resolve(process.argv[2] ?? 'src'));
  const cycles = roomCycles(graph);
  console.log(`${graph.rooms.length} rooms: ${graph.rooms.join(', ')}`);
  console.log(`${cycles.length} cycles${cycles.length ? ':' : ''}`);
  for (const c of cycles) console.log(describeCycle(graph, c));
}
