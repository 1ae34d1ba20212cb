import fc from 'fast-check';
import { validateDocument } from './index';
import {
  MAX_ALIAS_COUNT,
  MAX_DOCUMENT_BYTES,
  MAX_KEYS_PER_MAP,
  MAX_NESTING_DEPTH,
  MAX_NODES,
  parseConfigDocument,
} from './yaml-document';
import { onThreadCpu } from '@libs/testing/thread-cpu';
import { builtInDescriptors } from '@libs/attestors/catalog';

const builtIns = builtInDescriptors();

// Pathological YAML (alias bombs, nesting far past the cap, huge numbers,
// tags, merge keys, long scalars) always ends in a result, never a throw,
// and the slowest document stays far inside a robustness bound of CPU time:
// the parser must refuse the shape early instead of expanding it. Not a
// benchmark.

// The slowest of these small documents takes 0.6-0.7 s of CPU on a quiet
// machine and reached 2.1 s on a loaded one (CPU time stretches too when two
// busy processes share a core's caches); a blow-up with the input's shape
// costs tens of seconds (the quadratic duplicate-key check: 59 s).
const ROBUSTNESS_BOUND_MS = 5_000;
const HEAD =
  'section: AgentAttestation\nschema: v1\nspec:\n  policies:\n    - name: lab\n      requiredAttestors: [{ type: join_token }]\n';

const aliasBomb = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 12 })).map(([levels, fanout]) => {
  const lines = ['a0: &a0 [lol]'];
  for (let i = 1; i <= levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(fanout)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return `${HEAD}x:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
});
const aliasCount = fc
  .integer({ min: MAX_ALIAS_COUNT - 2, max: MAX_ALIAS_COUNT * 40 })
  .map((n) => `${HEAD}x:\n  a: &a 1\n  b: [${Array(n).fill('*a').join(', ')}]\n`);
const flowNesting = fc
  .tuple(fc.integer({ min: MAX_NESTING_DEPTH - 2, max: 50_000 }), fc.constantFrom('[', '{"k":', '[{"k": '))
  .map(([depth, open]) => {
    const close = open === '[' ? ']' : open === '{"k":' ? '}' : '}]';
    return `${HEAD}x: ${open.repeat(depth)}1${close.repeat(depth)}\n`;
  });
const blockNesting = fc
  .tuple(fc.integer({ min: MAX_NESTING_DEPTH - 2, max: 2_000 }), fc.constantFrom('- ', 'k: '))
  .map(([depth, step]) =>
    step === '- '
      ? `${HEAD}x:\n  ${'- '.repeat(depth)}1\n`
      : `${HEAD}x:\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(2 * i + 2)}k${i}:`).join('\n')} 1\n`,
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
const scalarDoc = fc
  .tuple(oddScalars, fc.constantFrom('x', '<<', '? complex'))
  .map(([value, key]) => `${HEAD}${key}: ${value}\n`);
// Wide maps: yaml's own duplicate-key check was quadratic in a map's keys
// (2 s of CPU for 8,000 keys, 59 s for 40,000); distinct, repeated, block and flow.
const wideMap = fc
  .tuple(
    fc.integer({ min: 1_000, max: 8_000 }),
    fc.constantFrom('distinct', 'repeated'),
    fc.constantFrom('block', 'flow'),
  )
  .map(([keys, names, style]) => {
    const key = (i: number) => (names === 'distinct' ? `k${i}` : `k${i % 7}`);
    const entries = Array.from({ length: keys }, (_, i) => `${key(i)}: 1`);
    return style === 'block'
      ? `${HEAD}x:\n${entries.map((e) => `  ${e}`).join('\n')}\n`
      : `${HEAD}x: {${entries.join(', ')}}\n`;
  });
const noise = fc
  .tuple(fc.nat({ max: HEAD.length }), fc.string({ unit: 'binary', maxLength: 50 }), fc.integer({ min: 1, max: 200 }))
  .map(([at, text, times]) => HEAD.slice(0, at) + text.repeat(times) + HEAD.slice(at));

describe('bounded YAML under pathological documents', () => {
  it('answers every pathological document with a result, inside the robustness bound', () => {
    let slowest = 0;
    fc.assert(
      fc.property(
        fc.oneof(aliasBomb, aliasCount, flowNesting, blockNesting, scalarDoc, wideMap, noise),
        fc.constantFrom('yaml', 'json') as fc.Arbitrary<'yaml' | 'json'>,
        (text, type) => {
          const {
            value: [parsed, validated],
            cpuMs,
          } = onThreadCpu(
            () =>
              [
                parseConfigDocument(text, type),
                validateDocument('AgentAttestation', text, builtIns, { contentType: type }),
              ] as const,
          );
          slowest = Math.max(slowest, cpuMs);
          if (!parsed.ok) expect(parsed.errors.length).toBeGreaterThan(0);
          if (!validated.ok) for (const error of validated.errors) expect(typeof error.message).toBe('string');
        },
      ),
      { numRuns: 300 },
    );
    expect(slowest).toBeLessThan(ROBUSTNESS_BOUND_MS);
  });

  // The shapes that cost the most per byte, each filling the 1 MiB body limit
  // (or as much of it as the node cap lets it reach). Bounded by linear work:
  // 1-3 s of CPU here, where the quadratic duplicate-key check alone took 59 s
  // for 40,000 keys in 458 KiB.
  describe('the costliest documents up to the 1 MiB body limit', () => {
    const WORST_DOCUMENT_CPU_MS = 10_000;
    const fill = (head: string, unit: (i: number) => string, tail = '') => {
      const units: string[] = [];
      let size = head.length + tail.length;
      for (let i = 0; ; i++) {
        const next = unit(i);
        if (size + next.length > MAX_DOCUMENT_BYTES) break;
        units.push(next);
        size += next.length;
      }
      return head + units.join('') + tail;
    };
    const justUnderNodeCap = (head: string, unit: (i: number) => string, nodesPerUnit: number, tail = '') => {
      const units = Math.floor((MAX_NODES - 50) / nodesPerUnit);
      return fill(head, (i) => (i < units ? unit(i) : 'x'.repeat(MAX_DOCUMENT_BYTES)), tail);
    };
    const worst: [string, () => string][] = [
      [
        '40,000 distinct keys in one map (the reported attack)',
        () =>
          `section: AgentAttestation\nschema: v1\nspec:\n${Array.from({ length: 40_000 }, (_, i) => `  k${i}: 1\n`).join('')}`,
      ],
      [
        '1 MiB of distinct keys in one map',
        () => fill('section: AgentAttestation\nschema: v1\nspec:\n', (i) => `  k${i}: 1\n`),
      ],
      ['1 MiB of flow list items', () => fill(`${HEAD}x: [`, () => '1,', '1]\n')],
      [
        'maps of the most keys allowed, up to the node cap',
        () =>
          justUnderNodeCap(
            `${HEAD}x:\n`,
            () => `  - {${Array.from({ length: MAX_KEYS_PER_MAP }, (_, j) => `k${j}: 1`).join(', ')}}\n`,
            3 * MAX_KEYS_PER_MAP + 2,
          ),
      ],
      [
        'list items that each fail the schema, up to the node cap',
        () =>
          justUnderNodeCap(
            'section: AgentAttestation\nschema: v1\nspec:\n  policies: [',
            (i) => `&a${i} 1,`,
            1,
            '1]\n',
          ),
      ],
      [
        'policies that each fail a semantic check, up to the node cap',
        () =>
          justUnderNodeCap(
            'section: AgentAttestation\nschema: v1\nspec:\n  policies:\n',
            (i) => `    - {name: "p_${i}", requiredAttestors: [{type: nope}]}\n`,
            10,
          ),
      ],
      [
        'long in-lists, up to the node cap',
        () =>
          justUnderNodeCap(
            'section: AgentAttestation\nschema: v1\nspec:\n  policies:\n',
            (i) =>
              `    - {name: p${i}, requiredAttestors: [{type: aws_iid}], rules: [{attribute: aws_iid.account.id, in: [${Array.from({ length: 1000 }, (_, j) => `"${String(j).padStart(12, '0')}"`).join(',')}]}]}\n`,
            1020,
          ),
      ],
    ];
    it.each(worst)('%s: a result within the CPU bound', (_name, make) => {
      const text = make();
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);
      const { value: result, cpuMs } = onThreadCpu(() => validateDocument('AgentAttestation', text, builtIns));
      expect(result.ok || result.errors.length > 0).toBe(true);
      expect(cpuMs).toBeLessThan(WORST_DOCUMENT_CPU_MS);
    });
  });

  it('never expands an alias bomb into a document that validates', () => {
    fc.assert(
      fc.property(
        aliasBomb.filter((text) => /a([4-9]|1\d): /.test(text)),
        (text) => !validateDocument('AgentAttestation', text, builtIns).ok,
      ),
      { numRuns: 50 },
    );
  });
});
