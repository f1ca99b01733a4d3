import { quote } from '../command.js';
import type { Fact } from './types.js';

/** Content is fetched (base64) only up to this size, so diffs can show the before text. */
export const MAX_CONTENT_BYTES = 256 * 1024;

export type FileType = 'file' | 'directory' | 'link' | 'other' | 'absent';

export interface FileState {
  path: string;
  type: FileType;
  /** four octal digits, e.g. "0644" (of the link itself for links) */
  mode?: string;
  owner?: string;
  group?: string;
  uid?: number;
  gid?: number;
  size?: number;
  /** regular files the fact could read */
  sha256?: string;
  /** symlinks: where they point (readlink, not resolved) */
  linkTarget?: string;
  /** regular files up to MAX_CONTENT_BYTES when asked for */
  content?: Buffer;
}

export function normalizeMode(mode: string | number): string {
  const digits = String(mode).replace(/^0o/, '');
  if (!/^[0-7]{1,5}$/.test(digits)) throw new Error(`not an octal file mode: ${mode}`);
  return parseInt(digits, 8).toString(8).padStart(4, '0');
}

/**
 * `stampFile` (optional) holds `stat=<size>:<mtime>:<inode>` and `sha256=<hex>` lines written when
 * the file was installed; while the file's stat still matches, that sha256 is reported instead of
 * hashing the file again (large binaries make a no-op run slow otherwise).
 */
function fileScript(path: string, withContent: boolean, stampFile?: string): string {
  const hash = stampFile
    ? `  st=$(stat -c '%s:%Y:%i' -- "$p"); r=${quote(stampFile)}
  if [ -r "$r" ] && grep -qx "stat=$st" "$r"; then grep '^sha256=' "$r"
  else s=$(sha256sum < "$p") && printf 'sha256=%s\\n' "\${s%% *}"; fi`
    : `  s=$(sha256sum < "$p") && printf 'sha256=%s\\n' "\${s%% *}"`;
  return `p=${quote(path)}
if [ -L "$p" ]; then echo type=link; printf 'target=%s\\n' "$(readlink -- "$p")"
elif [ -d "$p" ]; then echo type=directory
elif [ -f "$p" ]; then echo type=file
elif [ -e "$p" ]; then echo type=other
else echo type=absent; exit 0; fi
stat -c 'mode=%a
uid=%u
gid=%g
owner=%U
group=%G
size=%s' -- "$p"
if [ ! -L "$p" ] && [ -f "$p" ] && [ -r "$p" ]; then
${hash}
${withContent ? `  if [ "$(stat -c %s -- "$p")" -le ${MAX_CONTENT_BYTES} ]; then echo content:; base64 < "$p"; fi\n` : ''}fi`;
}

export function parseFileState(path: string, stdout: string): FileState {
  const state: FileState = { path, type: 'absent' };
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === 'content:') {
      state.content = Buffer.from(lines.slice(i + 1).join(''), 'base64');
      break;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const value = line.slice(eq + 1);
    switch (line.slice(0, eq)) {
      case 'type': state.type = value as FileType; break;
      case 'target': state.linkTarget = value; break;
      case 'mode': state.mode = normalizeMode(value); break;
      case 'uid': state.uid = Number(value); break;
      case 'gid': state.gid = Number(value); break;
      case 'owner': state.owner = value; break;
      case 'group': state.group = value; break;
      case 'size': state.size = Number(value); break;
      case 'sha256': state.sha256 = value; break;
    }
  }
  if (!['file', 'directory', 'link', 'other', 'absent'].includes(state.type)) throw new Error(`unexpected file type: ${state.type}`);
  return state;
}

/** Type, mode, owner, group, sha256 and (optionally) content of one path on the host. */
export function fileFact(path: string, options: { content?: boolean; stampFile?: string } = {}): Fact<FileState> {
  const withContent = options.content ?? true;
  return {
    key: `file${withContent ? '' : '-meta'}${options.stampFile ? `+stamp:${options.stampFile}` : ''}:${path}`,
    script: fileScript(path, withContent, options.stampFile),
    parse: (stdout) => parseFileState(path, stdout),
  };
}
