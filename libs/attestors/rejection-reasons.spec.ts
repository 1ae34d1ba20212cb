import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/*
 * Keeps every refusal an attestor can give asserted word for word: a reason
 * reworded, or a refusal now raised by another check, must fail a spec.
 *
 * A regex scan, not a TypeScript parse, on purpose: the reasons are written
 * in one house style (a string or template literal as the first argument of
 * `reject(...)`, `new ProofRejected(...)`, `rejectionOf(type, ...)`, the
 * helpers that prefix a reason, or returned by a `joseReason`). A refusal
 * built another way (a reason in a variable, a new helper) would slip past
 * the scan, so every such call whose argument is no literal must be one of
 * the known forwarding forms below, or this spec fails.
 * `${...}` placeholders become wildcards; a reason counts as asserted when a
 * spec in its attestor's folder (any attestor's for the shared files) that
 * calls `rejectionReason(` holds a literal ending with it (after `: `). A spec asserts
 * through tables and helpers, so any literal of such a spec counts.
 */

const ROOT = __dirname;

/** `${...}`, one level of nested template or braces inside allowed. */
const PLACEHOLDER = /\$\{(?:[^{}`]|`[^`]*`|\{[^{}]*\})*\}/;
/** A string or template literal, as regex source. */
const STRING = [
  /'(?:[^'\\\n]|\\.)*'/,
  /"(?:[^"\\\n]|\\.)*"/,
  new RegExp(`\`(?:[^\`\\\\$]|\\\\.|\\$(?!\\{)|${PLACEHOLDER.source})*\``),
]
  .map((pattern) => pattern.source)
  .join('|');

/** Calls whose first (or, for rejectionOf, second) argument is a reason. */
const REASON_CALL = new RegExp(
  String.raw`(?:\b(?:reject|notManagedIdentity|notVirtualMachine|new ProofRejected)\(|\brejectionOf\(\s*'[a-z_]+'\s*,)\s*(${STRING})`,
  'g',
);
/** The same calls with anything but a literal: these must only forward a reason. */
const FORWARDING_CALL =
  /\b(?:reject|notManagedIdentity|notVirtualMachine|new ProofRejected|rejectionOf)\(\s*(?!['"`\s])([^,)\n]*)/g;
/** Parameters and expressions a forwarding call may pass (`Promise.reject(error)` is the AWS batcher's). */
const FORWARDED = [
  'reason',
  'reason: string',
  'type: string',
  'joseReason(error',
  'why: string',
  'what: string',
  'error',
  'error: unknown',
];
const JOSE_REASON = /function joseReason\([^]*?\n\}\n/g;
const RETURNED = new RegExp(String.raw`\breturn\s+(${STRING})`, 'g');
const LITERAL = new RegExp(STRING, 'g');
/** The helpers' own bodies forward a reason; they hold no text of their own. */
const FORWARDERS = new Set([
  '`azure_msi: ${reason}`',
  '`aws_iid: ${reason}`',
  '`aws_iam: ${reason}`',
  '`${type}: ${reason}`',
]);

/**
 * Reasons no spec can reach through an attestor's API, each with why. Empty
 * is the goal; an entry here is a claim a reviewer can check.
 */
const UNREACHABLE: Record<string, string> = {
  'X-Amz-Date is not a date':
    'the format check before it admits only digits, which Date.UTC always turns into a time (months and days roll over)',
  'signature could not be parsed':
    'catches what is neither ProofRejected nor BerError, i.e. a parser bug, so hostile input never becomes a 500',
  'token is invalid': "jwtVerify throws only JOSEErrors for a token; a non-JOSE error would be jose's or attestd's bug",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The literal's text, `${...}` placeholders as `placeholder`. */
function textOf(literal: string, placeholder: string): string {
  const body = literal.slice(1, -1);
  const unescaped = literal.startsWith('`') ? body : body.replace(/\\(.)/g, '$1');
  return unescaped.replace(new RegExp(PLACEHOLDER, 'g'), placeholder);
}

const WILDCARD = '\u0000';

/** The whole asserted text, or its end after a `: ` (a type prefix, or a reason composed around this one). */
function patternOf(reason: string): RegExp {
  const escaped = reason
    .split(WILDCARD)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^]*');
  return new RegExp(`(?:^|: )${escaped}$`);
}

/** The attestor folder a file belongs to (`aws-iid`), or '' for the shared ones. */
function attestorOf(path: string): string {
  const rel = relative(ROOT, dirname(path));
  return rel === '' ? '' : rel.split(sep)[0]!;
}

function reasonsIn(source: string): string[] {
  const literals = [...source.matchAll(REASON_CALL)].map((match) => match[1]!);
  for (const body of source.match(JOSE_REASON) ?? []) literals.push(...[...body.matchAll(RETURNED)].map((m) => m[1]!));
  return literals.filter((literal) => !FORWARDERS.has(literal)).map((literal) => textOf(literal, WILDCARD));
}

const files = sourceFiles(ROOT);
const sources = files
  .filter((path) => !path.endsWith('.spec.ts'))
  .map((path) => ({ path, source: readFileSync(path, 'utf8') }));
const reasons = sources.flatMap(({ path, source }) => reasonsIn(source).map((reason) => ({ reason, path })));
const asserted = files
  .filter((path) => path.endsWith('.spec.ts'))
  .map((path) => ({ path, source: readFileSync(path, 'utf8') }))
  .filter(({ source }) => source.includes('rejectionReason('))
  .map(({ path, source }) => ({
    attestor: attestorOf(path),
    texts: (source.match(LITERAL) ?? []).map((literal) => textOf(literal, '\u0001')),
  }));

describe('rejection reasons', () => {
  it('finds the reasons of every attestor (the scan still reads the source)', () => {
    const found = new Set(reasons.map(({ path }) => attestorOf(path)));
    expect([...found].sort()).toEqual(['', 'aws-iam', 'aws-iid', 'azure-msi', 'join-token', 'k8s-psat']);
    expect(reasons.length).toBeGreaterThan(90);
  });

  it('sees every refusal: calls without a literal only forward a reason', () => {
    const forwarded = sources.flatMap(({ source }) => [...source.matchAll(FORWARDING_CALL)].map((match) => match[1]!));
    expect([...new Set(forwarded)].filter((argument) => !FORWARDED.includes(argument))).toEqual([]);
  });

  it('lists as unreachable only reasons the attestors still give', () => {
    const given = new Set(reasons.map(({ reason }) => reason));
    expect(Object.keys(UNREACHABLE).filter((reason) => !given.has(reason))).toEqual([]);
  });

  it.each(reasons.map(({ reason, path }) => [reason.replaceAll(WILDCARD, '${…}'), reason, path] as const))(
    'asserts %j exactly through rejectionReason',
    (_name, reason, path) => {
      if (Object.hasOwn(UNREACHABLE, reason)) return;
      const owner = attestorOf(path);
      const pattern = patternOf(reason);
      const specs = asserted.filter(({ attestor }) => owner === '' || attestor === owner);
      expect({
        reason,
        path: relative(ROOT, path),
        asserted: specs.some(({ texts }) => texts.some((t) => pattern.test(t))),
      }).toEqual({
        reason,
        path: relative(ROOT, path),
        asserted: true,
      });
    },
  );
});
