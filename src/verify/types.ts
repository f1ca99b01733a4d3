/** One line of `bootstrap verify`'s table. */
export interface CheckResult {
  /** what was checked, e.g. "consul members", "service consul", "nginx upstream" */
  check: string;
  host?: string;
  app?: string;
  ok: boolean;
  /** why it passed or what was wrong */
  detail: string;
}

export interface VerifyOptions {
  /** requests per app and LB used to see the spread over backends (default 20) */
  requests?: number;
  /** ports the LBs answer on (default 80 and 443; tests use others) */
  httpPort?: number;
  httpsPort?: number;
  /** per HTTP request (default 10000) */
  timeoutMs?: number;
  /** --limit: only these hosts are checked (every host when undefined) */
  hosts?: readonly string[];
  /** hosts connected to and checked at once (default 20) */
  forks?: number;
  /** -v: a `connect` line per host: the login user, whether checks go through sudo, and timings */
  verbose?: boolean;
}
