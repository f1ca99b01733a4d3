import type { FileState } from '../facts/file.js';
import { normalizeMode } from '../facts/file.js';
import type { Change } from './types.js';

export interface WantedAttributes {
  mode?: string;
  owner?: string;
  group?: string;
}

function sameAccount(want: string, name: string | undefined, id: number | undefined): boolean {
  return /^\d+$/.test(want) ? Number(want) === id : want === name;
}

/** Which of an existing path's attributes differ from what was asked (a link has no mode of its own). */
export function attributeDifferences(current: FileState, want: WantedAttributes): { mode: boolean; owner: boolean; group: boolean } {
  return {
    mode: want.mode !== undefined && current.type !== 'link' && normalizeMode(want.mode) !== current.mode,
    owner: want.owner !== undefined && !sameAccount(want.owner, current.owner, current.uid),
    group: want.group !== undefined && !sameAccount(want.group, current.group, current.gid),
  };
}

/** chmod/chown changes that bring an existing path's attributes to what was asked. */
export function attributeChanges(current: FileState, want: WantedAttributes): Change[] {
  const changes: Change[] = [];
  const path = current.path;
  const isLink = current.type === 'link';
  const differs = attributeDifferences(current, want);
  if (differs.mode) {
    const mode = normalizeMode(want.mode!);
    changes.push({ title: `set mode of ${path} to ${mode} (was ${current.mode})`, commands: [{ argv: ['chmod', mode, path] }] });
  }
  const ownerDiffers = differs.owner;
  const groupDiffers = differs.group;
  if (ownerDiffers || groupDiffers) {
    const spec = `${ownerDiffers ? want.owner : ''}${groupDiffers ? `:${want.group}` : ''}`;
    changes.push({
      title: `set owner of ${path} to ${spec} (was ${current.owner}:${current.group})`,
      commands: [{ argv: ['chown', ...(isLink ? ['-h'] : []), spec, path] }],
    });
  }
  return changes;
}
