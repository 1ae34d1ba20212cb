import { parseServerCommandLine, ServerUsageError, serverUsage } from './command-line';

function usageErrorOf(argv: string[]): string {
  try {
    parseServerCommandLine(argv);
  } catch (error) {
    if (error instanceof ServerUsageError) return error.message;
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('the server command line', () => {
  it.each([
    [[], { name: 'run' }],
    [['--config', 'attestd.yaml'], { name: 'run', configFile: 'attestd.yaml' }],
    [['--config=-odd.yaml'], { name: 'run', configFile: '-odd.yaml' }],
    [['--help'], { name: 'help' }],
    [['-h'], { name: 'help' }],
    [['--config', 'x.yaml', '--help', '--bogus'], { name: 'help' }],
    [['--version'], { name: 'version' }],
    [['--config', 'x.yaml', '--version'], { name: 'version' }],
  ])('reads %j', (argv, expected) => {
    expect(parseServerCommandLine(argv)).toEqual(expected);
  });

  it.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['-x'], 'unknown flag -x'],
    [['serve'], 'unexpected argument "serve"'],
    [['--config'], '--config needs a file name (write --config=FILE for one that starts with "-")'],
    [['--config', '--version'], '--config needs a file name (write --config=FILE for one that starts with "-")'],
    [['--config='], '--config needs a file name (write --config=FILE for one that starts with "-")'],
    [['--config', 'a.yaml', '--config', 'b.yaml'], '--config given more than once'],
    [['--version=2'], '--version takes no value'],
  ])('refuses %j in one line', (argv, message) => {
    expect(usageErrorOf(argv)).toBe(message);
  });

  it('names its flags and where the settings are in the usage', () => {
    expect(serverUsage()).toMatch(/^usage: attestd \[--config FILE\]/);
    for (const text of ['--config FILE', '-h, --help', '--version', 'DATABASE_URL', 'ATTESTD_TRUST_DOMAIN'])
      expect(serverUsage()).toContain(text);
  });
});
