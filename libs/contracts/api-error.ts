import type { ProblemCode, ProblemFieldError } from './problem';

/** A failure the API reports as a problem document with this code. */
export class ApiError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: ProblemFieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(`${code}: ${detail}`);
  }
}
