/**
 * The oracle's one translation rule, Ansible playbook -> bootstrap playbook, as docs/playbooks.md's
 * "Coming from Ansible" table states it: `{{ expr }}` becomes `<%= expr %>`, and an unquoted
 * condition (`when`, `changed_when`, `failed_when`, `until`) becomes a quoted JavaScript
 * expression, as do `assert`'s `that`; `==` and `!=` become `===` and `!==`. Jinja that is not JavaScript (filters, `x if c else y`, `and`/`or`/`not`, Python's
 * True/False when a boolean is printed) is translated by hand: `js` maps such an expression, as
 * written in the Ansible playbook, to its JavaScript.
 */
export function toBootstrap(ansible: string, js: Record<string, string> = {}): string {
  const used = new Set<string>();
  const strict = (text: string) => text.replace(/ == /g, ' === ').replace(/ != /g, ' !== ');
  const expr = (jinja: string) => {
    const text = jinja.trim();
    if (!(text in js)) return strict(text);
    used.add(text);
    return js[text]!;
  };
  const out = ansible
    .replace(/\{\{(.*?)\}\}/g, (_, e: string) => `<%= ${expr(e)} %>`)
    .replace(/^(\s*(?:- )?(?:when|changed_when|failed_when|until)): (?!["']|true$|false$)(.+)$/gm, (_, key: string, e: string) => `${key}: ${JSON.stringify(expr(e))}`)
    .replace(/^(\s*(?:assert: \{ )?that: .*)$/gm, (line: string) => strict(line));
  const unused = Object.keys(js).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`translations of expressions the playbook does not hold: ${unused.join(', ')}`);
  return out;
}
