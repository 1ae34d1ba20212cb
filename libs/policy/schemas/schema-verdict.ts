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
  // every pointer at or above an error: holds() is asked once or more per
  // list item, so a scan of all errors each time would be quadratic
  const atOrAbove = new Set<string>();
  for (const { path } of errors) {
    // a pointer already there has its ancestors there too
    for (
      let pointer = path;
      !atOrAbove.has(pointer);
      pointer = pointer.slice(0, Math.max(0, pointer.lastIndexOf('/')))
    ) {
      atOrAbove.add(pointer);
      if (pointer === '') break;
    }
  }
  return {
    holds: (pointer) => !atOrAbove.has(pointer),
    shaped: (pointer) => !onNode.has(pointer),
  };
}
