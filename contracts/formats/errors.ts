/**
 * Errors a user can cause by handing us a bad file or a bad request. Each carries a stable `code`
 * (machine-readable, used as the OpenAI-style `error.code`), an optional `param` naming what to change,
 * and a message written for the person who has to fix the input.
 */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  constructor(
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

/** The input is well-formed but asks for something this engine does not do (an architecture, a rope type). */
export class UnsupportedError extends InvalidInputError {}

/**
 * A failure of ours that a retry is expected to clear (a helper process died under us): a 503 with Retry-After,
 * never a 4xx that blames the user's input.
 */
export class TransientFailure extends Error {
  override readonly name = 'TransientFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterS = 1,
  ) {
    super(message);
  }
}

export function invalid(code: string, message: string, param?: string): never {
  throw new InvalidInputError(code, message, param);
}

export function unsupported(code: string, message: string, param?: string): never {
  throw new UnsupportedError(code, message, param);
}
