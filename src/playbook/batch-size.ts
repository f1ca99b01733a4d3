/**
 * Rolling batches (a play's `serial`, as in Ansible): `serial: 1`, `serial: "30%"` or a list such
 * as `[1, "50%"]`. Each entry is a batch size, a percentage of the play's hosts (rounded down, at
 * least 1); once the list is used up its last entry repeats until every host had its batch.
 */
export type BatchSize = number | `${number}%`;

export const PERCENT = /^(\d{1,3})%$/;
