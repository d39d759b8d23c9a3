/** What ends a command: one line for the user and the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The API's HTTP status, when the API answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Exit codes: 1 when the API (or the endpoint) said no, 2 when the command line itself was wrong. */
export const USAGE_EXIT = 2;
