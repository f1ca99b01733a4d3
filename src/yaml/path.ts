/** Dotted key paths: `all.children.web.hosts.web2.port`, `plays.0.tasks.3.template.dest`. */
export function joinPath(base: string, key: string | number): string {
  return base === '' ? String(key) : `${base}.${key}`;
}

/** The path itself, then each ancestor, ending with "". */
export function ancestors(path: string): string[] {
  const out = [path];
  let p = path;
  while (p !== '') {
    const dot = p.lastIndexOf('.');
    p = dot < 0 ? '' : p.slice(0, dot);
    out.push(p);
  }
  return out;
}
