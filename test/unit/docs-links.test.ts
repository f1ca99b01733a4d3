import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replaceAll(' ', '-');

function anchors(file: string): Set<string> {
  const out = new Set<string>();
  let code = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) code = !code;
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (heading && !code) out.add(slug(heading[1]!));
  }
  return out;
}

test('every relative link of README.md and docs/ reaches a file, and a heading of it where it names one', () => {
  const broken: string[] = [];
  for (const page of pages) {
    const file = join(root, page);
    for (const [, target] of readFileSync(file, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:\/\//.test(target!)) continue;
      const [path, anchor] = target!.split('#');
      const to = path ? join(dirname(file), path) : file;
      if (!existsSync(to)) broken.push(`${page}: ${target} (no ${relative(root, to)})`);
      else if (anchor && !anchors(to).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${relative(root, to)})`);
    }
  }
  assert.deepEqual(broken, []);
});

test('the README links to every page of docs/', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const page of pages.filter((p) => p.startsWith('docs/'))) assert.ok(readme.includes(`](${page})`), `README.md does not link to ${page}`);
});
