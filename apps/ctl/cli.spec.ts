import { UsageError } from '@libs/cli-support/usage';
import { commandNames, DEFAULT_AUDIT_LIMIT, DEFAULT_SERVER, parseCommandLine } from './cli';
import { usage } from './help';

function problemsOf(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
  throw new Error('expected a usage error');
}

const commandOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseCommandLine(argv, env);
  if (parsed.name !== 'run') throw new Error('expected a command');
  return parsed.command;
};

const globalOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseCommandLine(argv, env);
  if (parsed.name !== 'run') throw new Error('expected a command');
  return parsed.global;
};

describe('parseCommandLine', () => {
  describe('commands', () => {
    it.each([
      [['config', 'apply', '-f', 'p.yaml'], { name: 'config apply', file: 'p.yaml' }],
      [['config', 'apply', '--file=p.json'], { name: 'config apply', file: 'p.json' }],
      [['config', 'validate', '-f', 'p.yaml'], { name: 'config validate', file: 'p.yaml', offline: false }],
      [['config', 'validate', '-f', 'p.yaml', '--offline'], { name: 'config validate', file: 'p.yaml', offline: true }],
      [['config', 'get', 'AgentAttestation'], { name: 'config get', section: 'AgentAttestation' }],
      [
        ['config', 'get', 'KubernetesClusters', '--version', '3'],
        { name: 'config get', section: 'KubernetesClusters', version: 3 },
      ],
      [['config', 'history', 'AwsIidCertificates'], { name: 'config history', section: 'AwsIidCertificates' }],
      [['config', 'simulate', '-f', 'p.yaml'], { name: 'config simulate', file: 'p.yaml' }],
      [
        ['config', 'simulate', '-f', 'p.yaml', '--limit', '50', '--since', '2h'],
        { name: 'config simulate', file: 'p.yaml', limit: 50, since: { agoSeconds: 7200 } },
      ],
      [
        ['config', 'rollback', 'AgentAttestation', '--version', '2'],
        { name: 'config rollback', section: 'AgentAttestation', version: 2 },
      ],
      [['agents', 'list'], { name: 'agents list' }],
      [
        ['agents', 'list', '--status', 'banned', '--attestor', 'aws_iid'],
        { name: 'agents list', status: 'banned', attestor: 'aws_iid' },
      ],
      [['agents', 'show', 'A1'], { name: 'agents show', id: 'A1' }],
      [['agents', 'evict', 'A1'], { name: 'agents change', id: 'A1', change: 'evict' }],
      [['agents', 'ban', 'A1'], { name: 'agents change', id: 'A1', change: 'ban' }],
      [['agents', 'unban', 'A1'], { name: 'agents change', id: 'A1', change: 'unban' }],
      [['audit', 'list'], { name: 'audit list', limit: DEFAULT_AUDIT_LIMIT, follow: false }],
      [
        [
          'audit',
          'list',
          '--outcome',
          'failure',
          '--attestor',
          'aws_iid',
          '--agent',
          'A1',
          '--since',
          '2025-01-31T12:00:00Z',
          '--limit',
          '20',
          '--follow',
        ],
        {
          name: 'audit list',
          outcome: 'failure',
          attestor: 'aws_iid',
          agentId: 'A1',
          since: { at: '2025-01-31T12:00:00Z' },
          limit: 20,
          follow: true,
        },
      ],
      [
        ['audit', 'list', '--since', '2h'],
        { name: 'audit list', since: { agoSeconds: 7200 }, limit: DEFAULT_AUDIT_LIMIT, follow: false },
      ],
      [['join-token', 'create'], { name: 'join-token create' }],
      [['join-token', 'create', '--ttl', '30m'], { name: 'join-token create', ttlSeconds: 1800 }],
      [['join-token', 'create', '--ttl', '1h'], { name: 'join-token create', ttlSeconds: 3600 }],
      [['join-token', 'create', '--ttl', '2d'], { name: 'join-token create', ttlSeconds: 172800 }],
    ])('reads %j', (argv, command) => {
      expect(commandOf(argv)).toEqual(command);
    });
  });

  describe('global flags', () => {
    it('defaults to the local server, no token and tables', () => {
      expect(globalOf(['agents', 'list'])).toEqual({ server: DEFAULT_SERVER, output: 'table' });
    });

    it('takes the server and token from ATTESTD_SERVER and ATTESTD_TOKEN', () => {
      expect(
        globalOf(['agents', 'list'], { ATTESTD_SERVER: 'https://attestd.example.org', ATTESTD_TOKEN: 'T' }),
      ).toEqual({
        server: 'https://attestd.example.org',
        token: 'T',
        output: 'table',
      });
    });

    it('prefers the flags over the environment, wherever they stand on the line', () => {
      const env = { ATTESTD_SERVER: 'https://env.example.org', ATTESTD_TOKEN: 'env' };
      expect(globalOf(['--server', 'http://flag:1', 'agents', '--token=flag', 'list', '-o', 'json'], env)).toEqual({
        server: 'http://flag:1',
        token: 'flag',
        output: 'json',
      });
    });

    it('treats an empty ATTESTD_TOKEN or ATTESTD_SERVER as unset', () => {
      expect(globalOf(['agents', 'list'], { ATTESTD_SERVER: '', ATTESTD_TOKEN: '' })).toEqual({
        server: DEFAULT_SERVER,
        output: 'table',
      });
    });
  });

  describe('help', () => {
    it.each([[[]], [['--help']], [['-h']], [['help']], [['bogus', '--help']], [['help', 'bogus']]])(
      'asks for the overview with %j',
      (argv) => {
        expect(parseCommandLine(argv)).toEqual({ name: 'help' });
      },
    );

    it.each([
      [['config', 'apply', '--help'], 'config apply'],
      [['--help', 'config', 'apply', '-f'], 'config apply'],
      [['agents', '-h', '--bogus'], 'agents'],
      [['agents', '--help'], 'agents'],
      [['agents', 'bogus', '--help'], 'agents'],
      [['help', 'audit', 'list'], 'audit list'],
      [['help', 'join-token'], 'join-token'],
    ])('asks for help on what %j names', (argv, topic) => {
      expect(parseCommandLine(argv)).toEqual({ name: 'help', topic });
    });

    it('has a page for every command, naming its synopsis and only its own flags', () => {
      for (const name of commandNames()) {
        const page = usage(name);
        expect(page.split('\n')[0]).toMatch(new RegExp(`^usage: attestctl \\[global flags\\] ${name}\\b`));
        expect(page).toContain('--server URL');
      }
      expect(usage('config apply')).toContain('-f, --file FILE');
      expect(usage('config apply')).not.toContain('--offline');
      expect(usage('config rollback')).toMatch(
        /--version N +the version whose content becomes current again \(required\)/,
      );
      expect(usage('config get')).toContain(
        'SECTION is one of AgentAttestation, AwsIidCertificates, KubernetesClusters',
      );
    });

    it("lists a group's commands, and only them, on its page", () => {
      const agents = usage('agents');
      for (const action of ['list', 'show', 'evict', 'ban', 'unban']) expect(agents).toContain(`agents ${action}`);
      expect(agents).not.toContain('config apply');
      expect(agents).toContain("run 'attestctl agents COMMAND --help'");
    });

    it('asks for the version with --version or version alone on the line, and keeps --version N for config', () => {
      expect(parseCommandLine(['--version'])).toEqual({ name: 'version' });
      expect(parseCommandLine(['version'])).toEqual({ name: 'version' });
      expect(parseCommandLine(['config', 'get', 'AgentAttestation', '--version', '2'])).toMatchObject({
        command: { version: 2 },
      });
      expect(problemsOf(['agents', 'list', '--version', '3'])).toEqual(['--version does not apply to agents list']);
    });

    it('names every command of operations.md in the usage', () => {
      for (const text of [
        'config apply -f FILE',
        'config validate -f FILE [--offline]',
        'config get SECTION [--version N]',
        'config history SECTION',
        'config simulate -f FILE',
        'config rollback SECTION --version N',
        'agents list [--status S]',
        'agents show ID',
        'agents evict ID',
        'agents ban ID',
        'agents unban ID',
        'audit list [--outcome success|failure]',
        '[--follow]',
        'join-token create [--ttl 1h]',
        'ATTESTD_SERVER',
        'ATTESTD_TOKEN',
        '--output FORMAT',
      ]) {
        expect(usage()).toContain(text);
      }
    });
  });

  describe('usage errors', () => {
    it.each<[string, string[], string[]]>([
      ['a flag but no command', ['--server', 'http://x'], ['expected a command (config, agents, audit, join-token)']],
      [
        'an unknown command',
        ['agent', 'list'],
        ['unknown command "agent" (commands: config, agents, audit, join-token)'],
      ],
      [
        'a group without subcommand',
        ['config'],
        ['config needs a subcommand (apply, validate, get, history, simulate, rollback)'],
      ],
      [
        'an unknown subcommand',
        ['agents', 'delete', 'A1'],
        ['unknown command "agents delete" (agents commands: list, show, evict, ban, unban)'],
      ],
      ['config apply without -f', ['config', 'apply'], ['config apply needs --file FILE']],
      ['config validate without -f', ['config', 'validate', '--offline'], ['config validate needs --file FILE']],
      ['config simulate without -f', ['config', 'simulate'], ['config simulate needs --file FILE']],
      [
        '-f without a value',
        ['config', 'apply', '-f'],
        ['-f needs a value (write --file=VALUE for one that starts with "-")'],
      ],
      ['an empty -f', ['config', 'apply', '--file='], ['--file must not be empty']],
      [
        'a positional where none is taken',
        ['config', 'apply', '-f', 'a.yaml', 'b.yaml'],
        ['unexpected argument "b.yaml"'],
      ],
      ['config get without section', ['config', 'get'], ['config get needs SECTION']],
      [
        'an unknown section',
        ['config', 'history', 'Policies'],
        ['unknown section "Policies" (sections: AgentAttestation, AwsIidCertificates, KubernetesClusters)'],
      ],
      [
        'a bad --version',
        ['config', 'get', 'AgentAttestation', '--version', '0'],
        ['--version must be a positive integer, got "0"'],
      ],
      [
        'a non-numeric --version',
        ['config', 'get', 'AgentAttestation', '--version', 'latest'],
        ['--version must be a positive integer, got "latest"'],
      ],
      [
        'config rollback without --version',
        ['config', 'rollback', 'AgentAttestation'],
        ['config rollback needs --version N'],
      ],
      [
        'two sections',
        ['config', 'history', 'AgentAttestation', 'KubernetesClusters'],
        ['unexpected argument "KubernetesClusters"'],
      ],
      [
        'a flag of another command',
        ['config', 'apply', '-f', 'p.yaml', '--offline'],
        ['--offline does not apply to config apply'],
      ],
      ['agents show without id', ['agents', 'show'], ['agents show needs ID']],
      ['agents evict without id', ['agents', 'evict'], ['agents evict needs ID']],
      ['agents ban with two ids', ['agents', 'ban', 'A', 'B'], ['unexpected argument "B"']],
      [
        'a bad --status',
        ['agents', 'list', '--status', 'gone'],
        ['--status must be one of active, evicted, banned, got "gone"'],
      ],
      [
        'a bad --outcome',
        ['audit', 'list', '--outcome', 'failed'],
        ['--outcome must be one of success, failure, got "failed"'],
      ],
      [
        'a bad --since',
        ['audit', 'list', '--since', 'yesterday'],
        ['--since must be an RFC 3339 time (2025-01-31T12:00:00Z) or a duration ago (30m, 2h, 7d), got "yesterday"'],
      ],
      [
        'a bad --limit',
        ['audit', 'list', '--limit', '-5'],
        ['--limit needs a value (write --limit=VALUE for one that starts with "-")'],
      ],
      ['a zero --limit', ['audit', 'list', '--limit=0'], ['--limit must be a positive integer, got "0"']],
      ['--follow with a value', ['audit', 'list', '--follow=yes'], ['--follow takes no value']],
      [
        'a bad --ttl',
        ['join-token', 'create', '--ttl', '1.5h'],
        ['--ttl must be a duration such as 30m, 1h or 2d, got "1.5h"'],
      ],
      [
        'a zero --ttl',
        ['join-token', 'create', '--ttl', '0s'],
        ['--ttl must be a duration such as 30m, 1h or 2d, got "0s"'],
      ],
      [
        'a bare-number --ttl',
        ['join-token', 'create', '--ttl', '3600'],
        ['--ttl must be a duration such as 30m, 1h or 2d, got "3600"'],
      ],
      ['an unknown flag', ['agents', 'list', '--all'], ['unknown flag --all']],
      [
        'a flag given twice',
        ['agents', 'list', '--status', 'active', '--status', 'banned'],
        ['--status given more than once'],
      ],
      ['a bad --output', ['agents', 'list', '--output', 'yaml'], ['--output must be one of table, json, got "yaml"']],
      [
        'a server that is not a URL',
        ['agents', 'list', '--server', 'attestd:8080'],
        ['--server must be an http:// or https:// URL, got "attestd:8080"'],
      ],
      [
        'a server with credentials',
        ['agents', 'list', '--server', 'https://u:p@attestd'],
        ['--server must not hold credentials'],
      ],
      [
        'a server with a query',
        ['agents', 'list', '--server', 'https://attestd/?x=1'],
        ['--server must not have a query or fragment'],
      ],
      ['an empty --token', ['agents', 'list', '--token='], ['--token must not be empty']],
    ])('reports %s', (_what, argv, problems) => {
      expect(problemsOf(argv)).toEqual(problems);
    });

    it('names ATTESTD_SERVER when the bad server comes from the environment', () => {
      expect(problemsOf(['agents', 'list'], { ATTESTD_SERVER: 'ftp://x' })).toEqual([
        'ATTESTD_SERVER must be an http:// or https:// URL, got "ftp://x"',
      ]);
    });

    it('reports every problem at once', () => {
      expect(problemsOf(['config', 'rollback', 'Nope', '--bogus', '--output', 'xml'])).toEqual([
        'unknown flag --bogus',
        '--output must be one of table, json, got "xml"',
        'unknown section "Nope" (sections: AgentAttestation, AwsIidCertificates, KubernetesClusters)',
        'config rollback needs --version N',
      ]);
    });
  });
});
