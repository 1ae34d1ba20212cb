import { UsageError } from '@libs/cli-support/usage';
import { parseCommandLine, usage } from './cli';

const base = [
  'login',
  '--server',
  'https://attestd.example.org',
  '--attestor',
  'join_token',
  '--out',
  '/var/lib/agent',
];

function problemsOf(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('parseCommandLine', () => {
  describe('login', () => {
    it('reads every flag into the login options', () => {
      expect(parseCommandLine([...base, '--token', 'T'])).toEqual({
        name: 'login',
        options: {
          server: 'https://attestd.example.org',
          attestors: ['join_token'],
          out: '/var/lib/agent',
          joinToken: 'T',
        },
        daemon: false,
      });
    });

    it('reads --daemon', () => {
      expect(parseCommandLine([...base, '--token', 'T', '--daemon'])).toMatchObject({ name: 'login', daemon: true });
    });

    it('refuses a value for --daemon', () => {
      expect(problemsOf([...base, '--token', 'T', '--daemon=yes'])).toEqual(['--daemon takes no value']);
    });

    it('accepts --flag=value', () => {
      const command = parseCommandLine([
        'login',
        '--server=http://127.0.0.1:8080',
        '--attestor=join_token',
        '--out=d',
        '--token=-starts-with-dash',
      ]);
      expect(command).toMatchObject({
        options: { server: 'http://127.0.0.1:8080', out: 'd', joinToken: '-starts-with-dash' },
      });
    });

    it('takes the join token from ATTESTD_JOIN_TOKEN', () => {
      expect(parseCommandLine(base, { ATTESTD_JOIN_TOKEN: 'from-env' })).toMatchObject({
        options: { joinToken: 'from-env' },
      });
    });

    it('prefers --token over ATTESTD_JOIN_TOKEN', () => {
      expect(parseCommandLine([...base, '--token', 'flag'], { ATTESTD_JOIN_TOKEN: 'env' })).toMatchObject({
        options: { joinToken: 'flag' },
      });
    });

    it('takes the STS region from --aws-region, else AWS_REGION, else AWS_DEFAULT_REGION', () => {
      const iam = ['login', '--server', 'https://a.example', '--attestor', 'aws_iam', '--out', 'd'];
      const region = (argv: string[], env: NodeJS.ProcessEnv) =>
        (parseCommandLine(argv, env) as { options: { awsRegion?: string } }).options.awsRegion;
      expect(region([...iam, '--aws-region', 'eu-west-1'], { AWS_REGION: 'us-east-1' })).toBe('eu-west-1');
      expect(region(iam, { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-east-1');
      expect(region(iam, { AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-west-2');
      expect(region(iam, {})).toBeUndefined();
      // the variable concerns only the attestor that signs for a region
      expect(region([...base, '--token', 'T'], { AWS_REGION: 'us-east-1' })).toBeUndefined();
    });

    it('takes the IMDS endpoint from --imds-endpoint, else AWS_EC2_METADATA_SERVICE_ENDPOINT, checked alike', () => {
      const iid = ['login', '--server', 'https://a.example', '--attestor', 'aws_iid', '--out', 'd'];
      const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1338' };
      expect(parseCommandLine(iid, env)).toMatchObject({ options: { imdsEndpoint: 'http://127.0.0.1:1338' } });
      expect(parseCommandLine([...iid, '--imds-endpoint', 'http://[::1]:9'], env)).toMatchObject({
        options: { imdsEndpoint: 'http://[::1]:9' },
      });
      expect(problemsOf(iid, { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'not a url' })).toEqual([
        expect.stringContaining('AWS_EC2_METADATA_SERVICE_ENDPOINT'),
      ]);
    });

    it('asks for the login page with --help or -h, whatever else is on the line', () => {
      expect(parseCommandLine(['login', '--help'])).toEqual({ name: 'help', topic: 'login' });
      expect(parseCommandLine(['login', '-h', '--bogus'])).toEqual({ name: 'help', topic: 'login' });
    });
  });

  describe('jwt', () => {
    const jwt = ['jwt', '--server', 'https://attestd.example.org', '--out', '/var/lib/agent'];

    it('reads the server, the directory and every audience', () => {
      expect(parseCommandLine([...jwt, '--audience', 'sts.amazonaws.com', '--audience', 'vault'])).toEqual({
        name: 'jwt',
        options: {
          server: 'https://attestd.example.org',
          out: '/var/lib/agent',
          audiences: ['sts.amazonaws.com', 'vault'],
        },
      });
    });

    it('lists every missing flag at once', () => {
      expect(problemsOf(['jwt'])).toEqual(['--server is required', '--out is required', '--audience is required']);
    });

    it('refuses an audience with spaces, a repeated one, and more than eight', () => {
      expect(problemsOf([...jwt, '--audience', 'a b'])).toEqual([
        '--audience "a b" must be 1 to 256 printable ASCII characters without spaces',
      ]);
      expect(problemsOf([...jwt, '--audience', 'a', '--audience', 'a'])).toEqual(['--audience a given more than once']);
      const nine = Array.from({ length: 9 }, (_, i) => ['--audience', `aud-${i}`]).flat();
      expect(problemsOf([...jwt, ...nine])).toEqual(['--audience given more than 8 times']);
    });

    it('refuses login flags', () => {
      expect(problemsOf([...jwt, '--audience', 'a', '--attestor=join_token'])).toEqual(['unknown flag --attestor']);
    });
  });

  describe('help and version', () => {
    it.each([[[]], [['--help']], [['-h']], [['help']]])('%j asks for help', (argv) => {
      expect(parseCommandLine(argv)).toEqual({ name: 'help' });
    });

    it.each([
      [['jwt', '--help'], 'jwt'],
      [['jwt', '--server', 'x', '-h'], 'jwt'],
      [['help', 'login'], 'login'],
      [['help', 'jwt'], 'jwt'],
    ] as const)('%j asks for the %s page', (argv, topic) => {
      expect(parseCommandLine([...argv])).toEqual({ name: 'help', topic });
    });

    it('refuses help on a command that does not exist', () => {
      expect(problemsOf(['help', 'logout'])).toEqual(['unknown command "logout" (commands: login, jwt)']);
      expect(problemsOf(['help', 'login', 'jwt'])).toEqual(['unexpected argument "jwt"']);
    });

    it('asks for the version with --version or version alone', () => {
      expect(parseCommandLine(['--version'])).toEqual({ name: 'version' });
      expect(parseCommandLine(['version'])).toEqual({ name: 'version' });
      expect(problemsOf(['--version', 'login'])).toEqual(['--version takes no arguments']);
    });

    it('gives each command a page of its own flags only, and the overview all of them', () => {
      const login = usage('login');
      const jwt = usage('jwt');
      expect(login).toMatch(/^usage: attestd-agent login --server URL/);
      expect(login).toContain('--k8s-token-file PATH');
      expect(login).not.toContain('--audience');
      expect(jwt).toMatch(/^usage: attestd-agent jwt --server URL --out DIR --audience AUD/);
      expect(jwt).not.toContain('--attestor');
      for (const page of [login, jwt]) expect(page).toContain('-h, --help');
      expect(usage()).toContain('--version');
      expect(usage()).toContain('--k8s-token-file PATH');
      expect(usage()).toContain('--audience AUD');
    });
  });

  describe('usage errors', () => {
    it('rejects an unknown command', () => {
      expect(problemsOf(['logout'])).toEqual(['unknown command "logout" (commands: login, jwt)']);
    });

    it('rejects a flag before the command', () => {
      expect(problemsOf(['--server', 'x', 'login'])).toEqual([
        'expected a command before --server (commands: login, jwt)',
      ]);
    });

    it('rejects an unknown flag', () => {
      expect(problemsOf([...base, '--token', 'T', '--verbose'])).toEqual(['unknown flag --verbose']);
    });

    it('rejects an unknown short flag', () => {
      expect(problemsOf([...base, '--token', 'T', '-x'])).toEqual(['unknown flag -x']);
    });

    it('rejects a stray positional argument', () => {
      expect(problemsOf([...base, '--token', 'T', 'extra'])).toEqual(['unexpected argument "extra"']);
    });

    it('rejects a flag without its value', () => {
      expect(problemsOf([...base, '--token'])).toEqual([
        '--token needs a value (write --token=VALUE for one that starts with "-")',
      ]);
    });

    it('does not take the next flag as a value', () => {
      expect(problemsOf(['login', '--server', '--out', 'd', '--attestor', 'join_token', '--token', 'T'])).toEqual([
        '--server needs a value (write --server=VALUE for one that starts with "-")',
        'unexpected argument "d"',
        '--out is required',
      ]);
    });

    it('rejects a value given to --help', () => {
      expect(problemsOf([...base, '--token', 'T', '--help=yes'])).toEqual(['--help takes no value']);
    });

    it('rejects --server given twice', () => {
      expect(problemsOf([...base, '--token', 'T', '--server', 'https://other'])).toEqual([
        '--server given more than once',
      ]);
    });

    it('requires --server', () => {
      expect(problemsOf(['login', '--attestor', 'join_token', '--token', 'T', '--out', 'd'])).toEqual([
        '--server is required',
      ]);
    });

    it.each(['attestd.example.org', 'ftp://attestd.example.org', 'not a url'])('rejects --server %s', (server) => {
      expect(
        problemsOf(['login', '--server', server, '--attestor', 'join_token', '--token', 'T', '--out', 'd']),
      ).toEqual([`--server must be an http:// or https:// URL, got ${JSON.stringify(server)}`]);
    });

    it('rejects a --server URL with a query', () => {
      expect(
        problemsOf(['login', '--server', 'https://a/?x=1', '--attestor', 'join_token', '--token', 'T', '--out', 'd']),
      ).toEqual(['--server must not have a query or fragment']);
    });

    it('rejects a --server URL with credentials, without echoing them', () => {
      const problems = problemsOf([
        'login',
        '--server',
        'https://u:secret@a',
        '--attestor',
        'join_token',
        '--token',
        'T',
        '--out',
        'd',
      ]);
      expect(problems).toEqual(['--server must not hold credentials']);
    });

    it('requires --out', () => {
      expect(problemsOf(['login', '--server', 'https://a', '--attestor', 'join_token', '--token', 'T'])).toEqual([
        '--out is required',
      ]);
    });

    it('rejects an empty --out', () => {
      expect(problemsOf([...base.slice(0, 5), '--out', '', '--token', 'T'])).toEqual(['--out must not be empty']);
    });

    it('requires --attestor and lists the known ones', () => {
      expect(problemsOf(['login', '--server', 'https://a', '--out', 'd'])).toEqual([
        '--attestor is required (known: aws_iam, aws_iid, azure_msi, join_token, k8s_psat)',
      ]);
    });

    it('rejects an unknown attestor name', () => {
      expect(problemsOf(['login', '--server', 'https://a', '--out', 'd', '--attestor', 'aws_iidd'])).toEqual([
        'unknown attestor "aws_iidd" (known: aws_iam, aws_iid, azure_msi, join_token, k8s_psat)',
      ]);
    });

    it('rejects the same attestor twice', () => {
      expect(problemsOf([...base, '--attestor', 'join_token', '--token', 'T'])).toEqual([
        '--attestor join_token given more than once',
      ]);
    });

    it('requires a token for join_token', () => {
      expect(problemsOf(base)).toEqual(['--attestor join_token needs --token or ATTESTD_JOIN_TOKEN']);
    });

    it('treats an empty ATTESTD_JOIN_TOKEN as missing', () => {
      expect(problemsOf(base, { ATTESTD_JOIN_TOKEN: '' })).toEqual([
        '--attestor join_token needs --token or ATTESTD_JOIN_TOKEN',
      ]);
    });

    it('rejects an empty --token', () => {
      expect(problemsOf([...base, '--token='], { ATTESTD_JOIN_TOKEN: 'env' })).toEqual(['--token must not be empty']);
    });

    it('rejects --token without --attestor join_token', () => {
      expect(
        problemsOf(['login', '--server', 'https://a', '--out', 'd', '--attestor', 'nope', '--token', 'T']),
      ).toEqual([
        'unknown attestor "nope" (known: aws_iam, aws_iid, azure_msi, join_token, k8s_psat)',
        '--token is only used with --attestor join_token',
      ]);
    });

    it('reports every problem at once', () => {
      expect(problemsOf(['login', '--bogus'])).toEqual([
        'unknown flag --bogus',
        '--server is required',
        '--attestor is required (known: aws_iam, aws_iid, azure_msi, join_token, k8s_psat)',
        '--out is required',
      ]);
    });

    it('never puts the token into a message', () => {
      const problems = problemsOf([...base, '--token', 'sekrit-123', '--token', 'sekrit-456']);
      expect(problems).toEqual(['--token given more than once']);
      expect(problems.join('\n')).not.toMatch(/sekrit/);
    });
  });
});
