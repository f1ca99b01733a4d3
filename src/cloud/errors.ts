import { ExitCode } from '../errors.js';

/** Bad options, a missing token or an unusable key file: nothing was changed at the provider. */
export class CloudInputError extends Error {
  readonly exitCode = ExitCode.INVALID_INPUT;
  constructor(message: string) {
    super(message);
    this.name = 'CloudInputError';
  }
}

/** The provider answered with an error (after retries), or a wait timed out. */
export class CloudApiError extends Error {
  readonly exitCode = ExitCode.TASK_FAILED;
  constructor(
    message: string,
    readonly status?: number,
    readonly id?: string,
    readonly apiMessage?: string,
    readonly requestId?: string,
    /** 5xx or a network failure: the request may or may not have been processed */
    readonly transient = false,
    /** on a 403: the scopes the request needs, one of which the token may lack */
    readonly scopes?: readonly string[],
  ) {
    super(message);
    this.name = 'CloudApiError';
  }
}
