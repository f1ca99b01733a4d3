import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/* `node dist/test/helpers/longest-functions.js [src] [N]`: the N longest functions of src/ (lines from the first to the last), as named in the code. */

export interface FunctionLength { name: string; file: string; lines: number }

function tsFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function nameOf(node: ts.Node): string | undefined {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) return node.name.getText();
  if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && ts.isVariableDeclaration(node.parent)) return node.parent.name.getText();
  return undefined;
}

export function functionLengths(srcDir: string): FunctionLength[] {
  const out: FunctionLength[] = [];
  for (const file of tsFiles(srcDir)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      const name = nameOf(node);
      if (name) {
        const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        out.push({ name, file: relative(srcDir, file), lines: last - first + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out.sort((a, b) => b.lines - a.lines);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const f of functionLengths(resolve(process.argv[2] ?? 'src')).slice(0, Number(process.argv[3] ?? 10))) console.log(`${String(f.lines).padStart(4)}  ${f.name}  ${f.file}`);
}
