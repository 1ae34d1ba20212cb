import {
  CST,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseDocument,
  type Alias,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { unstorableText } from '@libs/contracts/storable-text';
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
/**
 * Nodes per document, counted from the lexer's tokens before anything is
 * built: every key, value and list or map entry counts once. A real
 * configuration has a few thousand; 1 MiB of `[1,1,1,...]` has 500,000, and
 * every later step (schema errors, their placement, the answer) grows with it.
 */
export const MAX_NODES = 100_000;
/** Keys of one map. Every map of a configuration has a fixed set of a dozen or so keys. */
export const MAX_KEYS_PER_MAP = 1_000;

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
  const tooLarge = lexicalLimit(text);
  if (tooLarge !== undefined) {
    const { line, col } = lineCounterOf(text).linePos(tooLarge.offset);
    return { ok: false, errors: [{ path: '', line, column: col, message: tooLarge.message }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    // yaml's own duplicate-key check compares each key with every earlier key
    // of its map: quadratic, 59 s of CPU for 40,000 keys. indexMaps() does it
    // with one Set per map. stringKeys makes every YAML key a plain string,
    // as the JSON value will have it, and refuses collections as keys (JSON
    // text has only string keys, and the JSON check below refuses the rest).
    uniqueKeys: false,
    stringKeys: contentType === 'yaml',
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
      errors: problems.map((problem) => ({
        path: '',
        ...at(problem.pos[0]),
        message: yamlMessage(problem.code, problem.message),
      })),
    };
  }
  if (contentType === 'json') {
    const jsonError = strictJsonError(text);
    if (jsonError !== undefined) return fail('', `document is not valid JSON: ${jsonError}`);
  }

  const index = indexMaps(doc);
  if (index.errors.length > 0)
    return { ok: false, errors: index.errors.map(({ path, offset, message }) => ({ path, ...at(offset), message })) };

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
    locate: (pointer, which = 'value') => at(nodeOffset(doc, index, pointer, which)),
  };
  const shapeError = findNonJson(value, '', 0);
  if (shapeError !== undefined) {
    return {
      ok: false,
      errors: [
        { path: shapeError.path, ...document.locate(shapeError.path, shapeError.at), message: shapeError.message },
      ],
    };
  }
  return { ok: true, document };
}

// yaml's parser slows down sharply and finally overflows its stack on deep
// nesting (seconds for `[[[[...` in 1 MiB), and takes seconds for 1 MiB of
// tiny nodes, so both are refused from the lexer's tokens, which are cheap
// and know quotes and block scalars: flow depth, `- - - x` chains on one
// line, and the node count. Nesting by indentation needs quadratic text and
// is caught after parsing.
const FLOW_OPEN = new Set(['[', '{']);
const FLOW_CLOSE = new Set([']', '}']);
// lexer control tokens that stand for no source text
const CONTROL = new Set(['\u0002', '\u0018', '\u001f']);
/** Token types that each stand for one node: a key or value, a list or map entry, a flow collection. */
const NODE_TOKENS = new Set<string | null>([
  'scalar',
  'single-quoted-scalar',
  'double-quoted-scalar',
  'alias',
  'flow-map-start',
  'flow-seq-start',
  'seq-item-ind',
  'explicit-key-ind',
  'map-value-ind',
]);

function lexicalLimit(text: string): { offset: number; message: string } | undefined {
  let offset = 0;
  let flowDepth = 0;
  let indicatorsOnLine = 0;
  let nodes = 0;
  for (const token of new Lexer().lex(text)) {
    if (FLOW_OPEN.has(token)) flowDepth++;
    else if (FLOW_CLOSE.has(token)) flowDepth = Math.max(0, flowDepth - 1);
    else if (token === '-' || token === '?') indicatorsOnLine++;
    else if (token === '\n' || token === '\r\n') indicatorsOnLine = 0;
    if (flowDepth > MAX_NESTING_DEPTH || indicatorsOnLine > MAX_NESTING_DEPTH)
      return { offset, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` };
    if (NODE_TOKENS.has(CST.tokenType(token)) && ++nodes > MAX_NODES) {
      return {
        offset,
        message: `document has more than ${MAX_NODES} nodes (keys, values and entries); split it or write it more compactly`,
      };
    }
    if (!CONTROL.has(token)) offset += token.length;
  }
  return undefined;
}

/** Per map, its entries by key; per alias, the node it stands for. What locate() walks. */
interface MapIndex {
  keys: Map<YAMLMap, Map<string, Pair>>;
  aliases: Map<Alias, Node | undefined>;
  errors: { path: string; offset: number | undefined; message: string }[];
}

/**
 * One walk over the parsed tree, linear in its size: keys per map (capped),
 * duplicate keys (a Set per map), each map's entries by key and each alias's
 * anchor (the last one before it, as YAML resolves it), so placing an error
 * never scans a map or the document again.
 */
function indexMaps(doc: Document): MapIndex {
  const index: MapIndex = { keys: new Map(), aliases: new Map(), errors: [] };
  const anchors = new Map<string, Node>();
  const walk = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, node as Node);
    if (isAlias(node)) {
      index.aliases.set(node, anchors.get(node.source));
    } else if (isMap(node)) {
      if (node.items.length > MAX_KEYS_PER_MAP) {
        const extra = node.items[MAX_KEYS_PER_MAP]!.key as Node | null;
        index.errors.push({
          path,
          offset: extra?.range?.[0] ?? node.range?.[0],
          message: `map has more than ${MAX_KEYS_PER_MAP} keys`,
        });
        return;
      }
      const entries = new Map<string, Pair>();
      index.keys.set(node, entries);
      for (const pair of node.items) {
        const name = keyText(pair.key);
        const keyPath = joinPointer(path, name);
        if (entries.has(name))
          index.errors.push({ path: keyPath, offset: (pair.key as Node | null)?.range?.[0], message: 'duplicate key' });
        else entries.set(name, pair);
        walk(pair.value, keyPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, joinPointer(path, i)));
    }
  };
  walk(doc.contents, '');
  return index;
}

/** With `stringKeys`, every key is a string scalar (an empty key has no node). */
function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : '';
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
  if (code === 'NON_STRING_KEY') return 'a key must be a string, not a list, map or tagged value';
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
 * Text must be storable too: PostgreSQL's text and jsonb refuse U+0000 and
 * unpaired surrogates (which `"\\0"` and `"\\ud800"` escapes make), so such a
 * document would validate and then fail to store.
 */
function findNonJson(
  value: unknown,
  path: string,
  depth: number,
): { path: string; message: string; at: 'key' | 'value' } | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'string') {
    const problem = unstorableText(value);
    return problem === undefined ? undefined : { path, message: problem, at: 'value' };
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : { path, message: 'must be a finite number', at: 'value' };
  }
  if (typeof value !== 'object') return { path, message: 'must be a JSON value', at: 'value' };
  if (depth >= MAX_NESTING_DEPTH)
    return { path, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels`, at: 'value' };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonJson(value[i], joinPointer(path, i), depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return { path, message: 'must be a string, number, boolean, null, list or map', at: 'value' };
  }
  for (const [key, child] of Object.entries(value)) {
    const keyProblem = unstorableText(key);
    if (keyProblem !== undefined) return { path: joinPointer(path, key), message: `key ${keyProblem}`, at: 'key' };
    const found = findNonJson(child, joinPointer(path, key), depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Walks the YAML tree along a JSON pointer; stops at the deepest node that exists. */
function nodeOffset(doc: Document, index: MapIndex, pointer: string, which: 'key' | 'value'): number | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let offset = node?.range?.[0];
  const segments = splitPointer(pointer);
  for (let i = 0; i < segments.length && node; i++) {
    if (isAlias(node)) node = index.aliases.get(node) ?? null;
    const segment = segments[i]!;
    if (isMap(node)) {
      const pair = index.keys.get(node)?.get(segment);
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
