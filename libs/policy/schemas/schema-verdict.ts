import type { SchemaError } from './schema-validator';

/**
 * What the schema said about each part of a document, so the semantic checks
 * run wherever the shape is known and skip (rather than guess at) the rest.
 */
export interface SchemaVerdict {
  /** no schema error at or under `pointer` */
  holds(pointer: string): boolean;
  /** no schema error on `pointer` itself: the value has its type and required keys (unknown keys aside) */
  shaped(pointer: string): boolean;
}

export function schemaVerdict(errors: readonly SchemaError[]): SchemaVerdict {
  const onNode = new Set(errors.filter((error) => error.at === 'value').map((error) => error.path));
  return {
    holds: (pointer) => !errors.some((error) => error.path === pointer || error.path.startsWith(`${pointer}/`)),
    shaped: (pointer) => !onNode.has(pointer),
  };
}
