import { isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigError } from './config-error';
import { joinPointer, splitPointer } from './json-pointer';

/** Same cap as the HTTP body limit (`api.md`): a bigger document is refused before parsing. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Real configuration nests about 10 deep; 32 leaves room and keeps every walk shallow. */
export const MAX_NESTING_DEPTH = 32;
/**
 * yaml's alias budget (roughly: nodes an alias may expand to). A handful of
 * anchors for shared account lists fits; "billion laughs" does not.
 */
export const MAX_ALIAS_COUNT = 32;

export type ContentType = 'yaml' | 'json';

export interface Position {
  line: number;
  column: number;
}

/** A parsed document that still knows where each value came from in the text. */
export interface ParsedDocument {
  readonly value: unknown;
  /**
   * Line and column of the node at `pointer`, or of its nearest existing
   * ancestor (a missing key is reported where its parent is). `at: 'key'`
   * points at the key of a map entry instead of its value (unknown keys).
   */
  locate(pointer: string, at?: 'key' | 'value'): Position | undefined;
}

export type ParseResult = { ok: true; document: ParsedDocument } | { ok: false; errors: ConfigError[] };

/** Parses one YAML (or JSON) document with every resource limit applied; never throws. */
export function parseConfigDocument(text: unknown, contentType: ContentType = 'yaml'): ParseResult {
  if (typeof text !== 'string') return fail('', 'document body must be text');
  if (text.length > MAX_DOCUMENT_BYTES || Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    return fail('', `document is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  }
  try {
    return parseBounded(text, contentType);
  } catch (error) {
    // yaml reports its own failures as errors; anything thrown is an input we
    // did not foresee, and it must still be a 422, never a 500.
    return fail('', `document cannot be parsed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseBounded(text: string, contentType: ContentType): ParseResult {
  const tooDeepAt = excessiveNestingOffset(text);
  if (tooDeepAt !== undefined) {
    const { line, col } = lineCounterOf(text).linePos(tooDeepAt);
    return { ok: false, errors: [{ path: '', line, column: col, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    version: '1.2',
    // JSON bodies get the JSON schema, so `yes` or `0x10` cannot sneak in.
    schema: contentType === 'json' ? 'json' : 'core',
    merge: false,
  });
  const at = (offset: number | undefined): Position | undefined => {
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      errors: problems.map((problem) => ({ path: '', ...at(problem.pos[0]), message: yamlMessage(problem.code, problem.message) })),
    };
  }
  if (contentType === 'json') {
    const jsonError = strictJsonError(text);
    if (jsonError !== undefined) return fail('', `document is not valid JSON: ${jsonError}`);
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError) {
      return fail('', `document uses too many aliases (limit ${MAX_ALIAS_COUNT}); write the values out`);
    }
    throw error;
  }

  const document: ParsedDocument = {
    value,
    locate: (pointer, which = 'value') => at(nodeOffset(doc, pointer, which)),
  };
  const shapeError = findNonJson(value, '', 0);
  if (shapeError !== undefined) {
    return { ok: false, errors: [{ path: shapeError.path, ...document.locate(shapeError.path), message: shapeError.message }] };
  }
  return { ok: true, document };
}

// yaml's parser slows down sharply and finally overflows its stack on deep
// nesting (seconds for `[[[[...` in 1 MiB), so nesting that is deep on its
// face is refused from the lexer's tokens, which are cheap and know quotes and
// block scalars: flow depth, and `- - - x` chains on one line. Nesting by
// indentation needs quadratic text and is caught after parsing.
const FLOW_OPEN = new Set(['[', '{']);
const FLOW_CLOSE = new Set([']', '}']);
// lexer control tokens that stand for no source text
const CONTROL = new Set(['\u0002', '\u0018', '\u001f']);

function excessiveNestingOffset(text: string): number | undefined {
  let offset = 0;
  let flowDepth = 0;
  let indicatorsOnLine = 0;
  for (const token of new Lexer().lex(text)) {
    if (FLOW_OPEN.has(token)) flowDepth++;
    else if (FLOW_CLOSE.has(token)) flowDepth = Math.max(0, flowDepth - 1);
    else if (token === '-' || token === '?') indicatorsOnLine++;
    else if (token === '\n' || token === '\r\n') indicatorsOnLine = 0;
    if (flowDepth > MAX_NESTING_DEPTH || indicatorsOnLine > MAX_NESTING_DEPTH) return offset;
    if (!CONTROL.has(token)) offset += token.length;
  }
  return undefined;
}

function lineCounterOf(text: string): LineCounter {
  const counter = new LineCounter();
  counter.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) counter.addNewLine(i + 1);
  return counter;
}

function fail(path: string, message: string): ParseResult {
  return { ok: false, errors: [{ path, message }] };
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key';
  if (code === 'MULTIPLE_DOCS') return 'only one document is allowed (found a "---" separator)';
  // yaml turns the composer's stack overflow into an error at the deepest node.
  if (/call stack/i.test(message)) return `nesting deeper than ${MAX_NESTING_DEPTH} levels`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}

function strictJsonError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Depth limit and "only JSON values": tags like `!!binary` yield Buffers and
 * `.inf` yields Infinity, neither of which a schema should have to consider.
 */
function findNonJson(value: unknown, path: string, depth: number): { path: string; message: string } | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : { path, message: 'must be a finite number' };
  }
  if (typeof value !== 'object') return { path, message: 'must be a JSON value' };
  if (depth >= MAX_NESTING_DEPTH) return { path, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonJson(value[i], joinPointer(path, i), depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return { path, message: 'must be a string, number, boolean, null, list or map' };
  }
  for (const [key, child] of Object.entries(value)) {
    const found = findNonJson(child, joinPointer(path, key), depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Walks the YAML tree along a JSON pointer; stops at the deepest node that exists. */
function nodeOffset(doc: Document, pointer: string, which: 'key' | 'value'): number | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let offset = node?.range?.[0];
  const segments = splitPointer(pointer);
  for (let i = 0; i < segments.length && node; i++) {
    if (isAlias(node)) node = node.resolve(doc) ?? null;
    const segment = segments[i];
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
      if (!pair) break;
      const key = pair.key as Node;
      const value = pair.value as Node | null;
      const last = i === segments.length - 1;
      // A key with no value (`spec:`) has only an empty node after the colon: report the key.
      const empty = !value?.range || value.range[0] === value.range[1];
      offset = (last && which === 'key') || empty ? key.range?.[0] : value.range?.[0];
      node = value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | null | undefined;
      if (!item) break;
      offset = item.range?.[0];
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
