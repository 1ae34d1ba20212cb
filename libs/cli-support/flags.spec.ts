import fc from 'fast-check';
import { readFlags, type FlagSpec } from './flags';

const SPEC = {
  server: { type: 'string' },
  audience: { type: 'string', multiple: true },
  follow: { type: 'boolean' },
  daemon: { type: 'boolean', multiple: true },
  file: { type: 'string', short: 'f' },
} as const satisfies Record<string, FlagSpec>;

describe('readFlags', () => {
  it('reads strings, repeated flags and booleans, and keeps operands when asked', () => {
    const read = readFlags(
      ['get', '--server', 'u', '--audience', 'a', '--audience=b', '--follow', '-f', 'x', '--daemon', '--daemon'],
      SPEC,
      { positionals: 'keep' },
    );
    expect(read).toEqual({
      values: { server: 'u', audience: ['a', 'b'], follow: true, file: 'x', daemon: true },
      mentioned: new Set(['server', 'audience', 'follow', 'file', 'daemon']),
      positionals: ['get'],
      problems: [],
    });
  });

  it("reports every mistake in order, in the CLIs' words", () => {
    const { problems } = readFlags(
      [
        'x',
        '--nope',
        '--follow=yes',
        '--follow',
        '--follow',
        '--server',
        '--daemon',
        '--server=-v',
        '--server',
        'w',
        '-f',
      ],
      SPEC,
      { positionals: 'refuse' },
    );
    expect(problems).toEqual([
      'unexpected argument "x"',
      'unknown flag --nope',
      '--follow takes no value',
      '--follow given more than once',
      '--server needs a value (write --server=VALUE for one that starts with "-")',
      '--server given more than once',
      '-f needs a value (write --file=VALUE for one that starts with "-")',
    ]);
  });

  it('never throws, and names every mention it refuses', () => {
    const word = fc.oneof(
      fc.constantFrom('--server', '--audience', '--follow', '--daemon', '-f', '--x', '-', '--', 'op'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 12 }), (args) => {
        const { values, mentioned, problems } = readFlags(args, SPEC, { positionals: 'refuse' });
        for (const name of Object.keys(values)) expect(mentioned.has(name as keyof typeof SPEC)).toBe(true);
        for (const problem of problems) expect(problem).not.toMatch(/[\n\r]/);
      }),
    );
  });
});
