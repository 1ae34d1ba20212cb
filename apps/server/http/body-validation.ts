import Ajv, { type ValidateFunction } from 'ajv';
import { ApiError } from './api-error';

const ajv = new Ajv({ allErrors: true, strict: true });

/** Compiles a request-body schema once; the checker throws a 400 naming every bad field. */
export function bodyChecker<T>(schema: object): (body: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body: unknown): T => {
    if (!validate(body)) {
      const errors = (validate.errors ?? []).map((e) => ({
        path: e.keyword === 'additionalProperties'
          ? `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`
          : e.instancePath || '/',
        message: e.keyword === 'additionalProperties' ? 'unknown field' : (e.message ?? 'is invalid'),
      }));
      throw new ApiError('invalid_request', `request body is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
    }
    return body as T;
  };
}
