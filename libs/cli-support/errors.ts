/**
 * Errors from Node's internals (fetch, fs) may come from another realm (Jest
 * runs tests in a VM context), where `instanceof Error` is false: look at the
 * shape instead.
 */
export interface ErrorLike {
  name: string;
  message: string;
  code?: unknown;
  cause?: unknown;
}

export function isErrorLike(value: unknown): value is ErrorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string' &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

export function errorMessage(error: unknown): string {
  return isErrorLike(error) ? error.message : String(error);
}
