import Ajv, { type ErrorObject } from 'ajv';

const ajv = new Ajv({ allErrors: false, strict: true });

/** A response schema of `libs/contracts`: an object with its required fields named. */
interface ObjectSchema {
  readonly type: 'object';
  readonly required: readonly string[];
}

export type AnswerCheck<T> = (answer: unknown) => { value: T } | { problem: string };

/**
 * Compiles a response schema once. The check says what is wrong with a 2xx
 * answer in the words a CLI prints after naming it (`login start answer
 * lacks loginId`), from the first error Ajv finds.
 */
export function answerChecker<T>(schema: ObjectSchema): AnswerCheck<T> {
  const validate = ajv.compile(schema);
  return (answer) => (validate(answer) ? { value: answer as T } : { problem: problemOf(validate.errors?.[0], schema) });
}

function problemOf(error: ErrorObject | undefined, schema: ObjectSchema): string {
  if (error === undefined) return 'is invalid';
  const segments = error.instancePath.split('/').slice(1);
  if (error.keyword === 'required') segments.push((error.params as { missingProperty: string }).missingProperty);
  const [field] = segments;
  if (field === undefined) return 'is not a JSON object';
  // an optional field (added after the first release) is there but malformed
  if (!schema.required.includes(field)) return `has malformed ${field}`;
  // a field the CLI relies on is missing or unusable: named down to the object member, not the array item
  const item = segments.findIndex((segment) => /^\d+$/.test(segment));
  return `lacks ${(item === -1 ? segments : segments.slice(0, item)).join('.')}`;
}
