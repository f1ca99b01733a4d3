export const REDACTED = '[redacted]';

/** How shorten() marks a cut, and the shortest start of a secret before it that is redacted (shorter ones are too common to tell) */
const CUT = '...';
const MIN_CUT_PREFIX = 4;

function longestPrefixEndingAt(text: string, end: number, secret: string): number {
  for (let n = Math.min(secret.length - 1, end); n > 0; n--) if (text.slice(end - n, end) === secret.slice(0, n)) return n;
  return 0;
}

/**
 * Keeps secrets out of everything the UIs print. Every value secret() hands out is added here
 * (before anything rendered from it can reach an event), and every runner event passes through
 * redactEvent() (runner/redact.ts) on its way out: strings lose the secrets they contain, and a
 * diff that holds one is replaced by "sensitive content changed".
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(value: string): string {
    if (value.length >= 8) this.secrets.add(value); // shorter values would redact ordinary words
    return value;
  }

  holds(text: string | null | undefined): boolean {
    if (!text) return false;
    for (const secret of this.secrets) if (text.includes(secret)) return true;
    return false;
  }

  text(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out.includes(CUT) ? this.cutPrefixes(out) : out;
  }

  /** A long command line in a change title is cut short with "..." (modules/guards.ts shorten()), which can cut a secret, leaving its start. */
  private cutPrefixes(text: string): string {
    let out = text;
    for (let at = out.indexOf(CUT); at >= 0; at = out.indexOf(CUT, at + 1)) {
      for (const secret of this.secrets) {
        const n = longestPrefixEndingAt(out, at, secret);
        if (n >= MIN_CUT_PREFIX) {
          out = out.slice(0, at - n) + REDACTED + out.slice(at);
          at += REDACTED.length - n;
          break;
        }
      }
    }
    return out;
  }
}
