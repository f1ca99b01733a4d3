/**
 * The schema language used for inventory vars, module parameters and playbook keys.
 * Validation (src/schema/validate-value.ts) reports every mismatch with file:line:col, the key
 * path, what was expected and what was found, and "did you mean" for unknown keys.
 */
interface Common {
  description?: string;
  /** extra check after the type matched; return a message when the value is wrong */
  check?: (value: never) => string | undefined;
}

export type Schema = Common &
  (
    | { type: 'string'; pattern?: RegExp; /** what the pattern means, for messages */ patternHint?: string; enum?: readonly string[]; default?: string }
    | { type: 'integer'; min?: number; max?: number; default?: number }
    | { type: 'boolean'; default?: boolean }
    | { type: 'list'; items: Schema; minItems?: number; /** field of map items whose value must be unique */ uniqueBy?: string }
    | { type: 'map'; fields: Record<string, Field>; /** schema of keys not in fields; absent = unknown keys are errors */ additional?: Schema }
    /** a value matching any of the alternatives (e.g. a string or a list of strings) */
    | { type: 'oneOf'; alternatives: Schema[]; hint: string }
    /** a path on the laptop, relative to the declaring file's directory, that must exist */
    | { type: 'localFile' }
    /** a file mode given as a string of octal digits, e.g. "0644" */
    | { type: 'mode' }
    | { type: 'any' }
  );

export type Field = Schema & {
  required?: boolean;
  /** other names the key may be written as (Ansible's parameter aliases); loading maps them to this key */
  aliases?: readonly string[];
};
