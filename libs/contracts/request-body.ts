import Ajv, { type ValidateFunction } from 'ajv';
import { findUnstorableText } from './storable-text';
import { ApiError } from './api-error';

const ajv = new Ajv({ allErrors: true, strict: true });

/**
 * Compiles a request-body schema once; the checker throws a 400 naming every
 * bad field, or the first string (a value anywhere, proofs included, or a
 * key) that PostgreSQL could not store: such text is refused here, at the
 * edge, rather than failing later in a write.
 */
export function bodyChecker<T>(schema: object): (body: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body: unknown): T => {
    if (!validate(body)) {
      const errors = (validate.errors ?? []).map((e) => ({
        path:
          e.keyword === 'additionalProperties'
            ? `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`
            : e.instancePath || '/',
        message: e.keyword === 'additionalProperties' ? 'unknown field' : (e.message ?? 'is invalid'),
      }));
      throw new ApiError(
        'invalid_request',
        `request body is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
        errors,
      );
    }
    const unstorable = findUnstorableText(body);
    if (unstorable)
      throw new ApiError(
        'invalid_request',
        `request body is invalid: ${printable(unstorable.path)} ${unstorable.message}`,
        [unstorable],
      );
    return body as T;
  };
}

/** The path as the detail shows it: the offending characters escaped, not echoed. */
function printable(path: string): string {
  return JSON.stringify(path).slice(1, -1);
}
