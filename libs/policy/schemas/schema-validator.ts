import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { joinPointer } from '../json-pointer';
import { PATTERN_MESSAGES } from './pattern-messages';

/** An error before it is placed in the text: pointer, message, and whether the pointer names a key. */
export interface SchemaError {
  path: string;
  message: string;
  at: 'key' | 'value';
}

export type SchemaCheck = (value: unknown, basePath: string) => SchemaError[];

// One instance for every schema of this library (compiled once, at import);
// attestor config schemas get their own, so an `$id` chosen by an attestor
// cannot collide with ours.
const sectionAjv = new Ajv({ allErrors: true, strict: true });
const attestorAjv = new Ajv({ allErrors: true, strict: true });
const attestorChecks = new WeakMap<object, SchemaCheck>();

export function compileSectionSchema(schema: object): SchemaCheck {
  return wrap(sectionAjv.compile(schema));
}

/**
 * The check for an attestor's `configSchema`, compiled once per schema object.
 * A schema Ajv rejects is a bug in that attestor and throws here.
 */
export function attestorConfigCheck(schema: object): SchemaCheck {
  let check = attestorChecks.get(schema);
  if (!check) {
    check = wrap(attestorAjv.compile(schema));
    attestorChecks.set(schema, check);
  }
  return check;
}

function wrap(validate: ValidateFunction): SchemaCheck {
  return (value, basePath) =>
    validate(value) ? [] : (validate.errors ?? []).map((error) => toSchemaError(error, basePath));
}

/** Ajv's words, except where an operator needs the allowed values or the key's own path. */
function toSchemaError(error: ErrorObject, basePath: string): SchemaError {
  const path = basePath + error.instancePath;
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: joinPointer(path, String(error.params.additionalProperty)), message: 'unknown key', at: 'key' };
    case 'enum':
      return { path, message: `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`, at: 'value' };
    case 'pattern':
      return {
        path,
        message: PATTERN_MESSAGES.get(String(error.params.pattern)) ?? error.message ?? 'must match a pattern',
        at: 'value',
      };
    case 'const':
      return { path, message: `must be ${String(error.params.allowedValue)}`, at: 'value' };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}`, at: 'value' };
  }
}
