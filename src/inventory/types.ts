import type { SourcePos } from '../errors.js';

export interface SshSettings {
  user?: string;
  port?: number;
  /** private key path, ~ expanded, resolved against the inventory's directory */
  key?: string;
}

/** One inventory host after merging all < group < host (group_vars/ and host_vars/ included). */
export interface Host {
  name: string;
  address: string;
  /** undefined when the inventory sets no port (then ~/.ssh/config's Port, else 22) */
  port?: number;
  /** undefined when the inventory sets no user (then ~/.ssh/config's User, else root) */
  user?: string;
  privateAddress?: string;
  key?: string;
  /** every group the host belongs to, transitively, always including "all" */
  groups: string[];
  /** merged variables (all < parent group < child group < host); includes ssh, apps, datacenter... */
  vars: Record<string, unknown>;
  /** where the host is declared */
  pos: SourcePos;
}

export interface Inventory {
  file: string;
  /** directory of the inventory file: relative local paths in vars resolve against it */
  dir: string;
  hosts: Map<string, Host>;
  /** group name -> host names (transitive), including "all" and "ungrouped" */
  groups: Map<string, string[]>;
  /** Source position of a value, by its key path in the merged vars of a host (e.g. "apps.0.server_name"), or of the host itself when path is "". Falls back to the host's position. */
  locate(host: string, varPath: string): { pos: SourcePos; keyPath: string };
  /** Where a group is declared (its key), or undefined for a group the inventory does not declare. */
  locateGroup?(group: string): { pos: SourcePos; keyPath: string } | undefined;
}
