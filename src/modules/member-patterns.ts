/**
 * unarchive's include/exclude: shell-style patterns as Python's fnmatch reads them (`*` matches
 * any run of characters, `/` too; `?` one character; `[seq]`, `[!seq]`), case-sensitive.
 */
export function fnmatchRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) re += '\\[';
      else {
        let body = pattern.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        else if (body.startsWith('^')) body = `\\${body}`;
        re += `[${body}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's');
}

export interface MemberSelection {
  include?: string[];
  exclude?: string[];
}

/**
 * Whether a member (its path under dest, no trailing slash) is unpacked. A zip member is
 * matched by itself, as unzip and Ansible's fnmatch do; a tar member also through any folder
 * above it, as tar's member names and --exclude take a folder with all it holds.
 */
export function memberSelected(path: string, sel: MemberSelection, kind: 'zip' | 'tar'): boolean {
  const names = kind === 'zip' ? [path] : path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  const hits = (patterns: string[]) => patterns.some((p) => { const re = fnmatchRegExp(p.replace(/\/+$/, '')); return names.some((n) => re.test(n)); });
  if (sel.include?.length) return hits(sel.include);
  if (sel.exclude?.length) return !hits(sel.exclude);
  return true;
}
