import type { Clock } from './clock.js';
import type { DigitalOcean } from './digitalocean.js';
import type { HostKey } from './host-keys.js';

/** What the up/down/status procedures need from the outside world; tests swap the clock and port. */
export interface CloudContext {
  provider: DigitalOcean;
  clock: Clock;
  /** progress lines for the operator (stderr); never the token */
  note: (line: string) => void;
  sshPort: number;
  fetchHostKey: (address: string, port: number) => Promise<HostKey>;
  sshAnswers: (address: string, port: number) => Promise<boolean>;
  timeouts: { activeMs: number; sshMs: number; goneMs: number; vpcDeleteMs: number };
}

export const DEFAULT_TIMEOUTS: CloudContext['timeouts'] = {
  activeMs: 10 * 60_000,
  sshMs: 5 * 60_000,
  goneMs: 5 * 60_000,
  vpcDeleteMs: 5 * 60_000,
};

/** How many times a create is re-tried after a 5xx or network error, checking first whether it happened. */
export const CREATE_ATTEMPTS = 4;
