import fc from 'fast-check';
import { validateDocument } from './index';
import { MAX_ALIAS_COUNT, MAX_NESTING_DEPTH, parseConfigDocument } from './yaml-document';
import { onThreadCpu } from '../testing/thread-cpu';
import { testCatalog } from './testdata/catalog';

// Pathological YAML (alias bombs, nesting far past the cap, huge numbers,
// tags, merge keys, long scalars) always ends in a result, never a throw,
// and the slowest document stays far inside a robustness bound of CPU time:
// the parser must refuse the shape early instead of expanding it. Not a
// benchmark.

const ROBUSTNESS_BOUND_MS = 2_000;
const HEAD = 'section: AgentAttestation\nschema: v1\nspec:\n  policies:\n    - name: lab\n      requiredAttestors: [{ type: join_token }]\n';

const aliasBomb = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 12 })).map(([levels, fanout]) => {
  const lines = ['a0: &a0 [lol]'];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(fanout).fill(`*a${i - 1}`).join(', ')}]`);
  return `${HEAD}x:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
});
const aliasCount = fc.integer({ min: MAX_ALIAS_COUNT - 2, max: MAX_ALIAS_COUNT * 40 }).map((n) => `${HEAD}x:\n  a: &a 1\n  b: [${Array(n).fill('*a').join(', ')}]\n`);
const flowNesting = fc.tuple(fc.integer({ min: MAX_NESTING_DEPTH - 2, max: 50_000 }), fc.constantFrom('[', '{"k":', '[{"k": ')).map(([depth, open]) => {
  const close = open === '[' ? ']' : open === '{"k":' ? '}' : '}]';
  return `${HEAD}x: ${open.repeat(depth)}1${close.repeat(depth)}\n`;
});
const blockNesting = fc.tuple(fc.integer({ min: MAX_NESTING_DEPTH - 2, max: 2_000 }), fc.constantFrom('- ', 'k: ')).map(([depth, step]) =>
  step === '- ' ? `${HEAD}x:\n  ${'- '.repeat(depth)}1\n` : `${HEAD}x:\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(2 * i + 2)}k${i}:`).join('\n')} 1\n`,
);
const oddScalars = fc.constantFrom(
  '1'.repeat(5_000),
  '0x' + 'f'.repeat(400),
  '1e' + '9'.repeat(50),
  '.inf',
  '-.nan',
  '!!binary ' + 'QUFB'.repeat(2_000),
  '!!timestamp 2026-01-01',
  '!!set { a, b }',
  '!!omap [ {a: 1} ]',
  '!<tag:yaml.org,2002:js/function> x',
  '"' + '\\u0000'.repeat(100) + '"',
  "'" + 'x'.repeat(200_000) + "'",
);
const scalarDoc = fc.tuple(oddScalars, fc.constantFrom('x', '<<', '? complex')).map(([value, key]) => `${HEAD}${key}: ${value}\n`);
const noise = fc.tuple(fc.nat({ max: HEAD.length }), fc.string({ unit: 'binary', maxLength: 50 }), fc.integer({ min: 1, max: 200 })).map(
  ([at, text, times]) => HEAD.slice(0, at) + text.repeat(times) + HEAD.slice(at),
);

describe('bounded YAML under pathological documents', () => {
  it('answers every pathological document with a result, inside the robustness bound', () => {
    let slowest = 0;
    fc.assert(
      fc.property(fc.oneof(aliasBomb, aliasCount, flowNesting, blockNesting, scalarDoc, noise), fc.constantFrom('yaml', 'json') as fc.Arbitrary<'yaml' | 'json'>, (text, type) => {
        const { value: [parsed, validated], cpuMs } = onThreadCpu(
          () => [parseConfigDocument(text, type), validateDocument('AgentAttestation', text, testCatalog, { contentType: type })] as const,
        );
        slowest = Math.max(slowest, cpuMs);
        if (!parsed.ok) expect(parsed.errors.length).toBeGreaterThan(0);
        if (!validated.ok) for (const error of validated.errors) expect(typeof error.message).toBe('string');
      }),
      { numRuns: 300 },
    );
    expect(slowest).toBeLessThan(ROBUSTNESS_BOUND_MS);
  });

  it('never expands an alias bomb into a document that validates', () => {
    fc.assert(
      fc.property(aliasBomb.filter((text) => /a([4-9]|1\d): /.test(text)), (text) => !validateDocument('AgentAttestation', text, testCatalog).ok),
      { numRuns: 50 },
    );
  });
});
