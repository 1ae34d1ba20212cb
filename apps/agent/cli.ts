import { serverUrlProblem } from '../../libs/cli-support/server-url';
import { parseArgs } from 'node:util';
import type { LoginOptions } from './login';
import { collectorNames, isKnownAttestor } from './proofs/index';

export const JOIN_TOKEN_ENV = 'ATTESTD_JOIN_TOKEN';

/** The command line was wrong; `problems` lists every mistake found, one a line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

export type Command = { name: 'help' } | { name: 'login'; options: LoginOptions };

export function usage(): string {
  return `usage: attestd-agent login --server URL --attestor NAME [--attestor NAME ...] --out DIR [--token TOKEN]

Attests this node to attestd with proofs collected on it and writes an
X.509-SVID, its private key and the trust bundle.

commands:
  login              log in and write svid.pem, svid.key (mode 0600) and bundle.pem

login flags:
  --server URL       attestd base URL, http:// or https:// (required)
  --attestor NAME    attestor to offer; repeat to offer several (required)
                     known: ${collectorNames().join(', ')}
  --out DIR          directory for the files, created with mode 0700 if missing (required)
  --token TOKEN      the join token for --attestor join_token; prefer ${JOIN_TOKEN_ENV}
                     in the environment, which other users cannot read from ps
  --imds-endpoint URL  instance metadata service for --attestor aws_iid
                     (default AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254)
  --aws-region NAME  STS region to sign for with --attestor aws_iam (default AWS_REGION);
                     credentials come from the AWS SDK's default chain
  -h, --help         show this help

exit status: 0 logged in, 1 the login failed, 2 usage error
`;
}

type FlagSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

const LOGIN_FLAGS = {
  server: { type: 'string' },
  attestor: { type: 'string', multiple: true },
  out: { type: 'string' },
  token: { type: 'string' },
  'imds-endpoint': { type: 'string' },
  'aws-region': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, FlagSpec>;

/** Flags of the spec that later issues add; named so the message says so. */
const NOT_YET = new Set(['daemon']);

const COMMANDS = ['login'];

/**
 * Reads `argv` (without node and script) into a command. Throws UsageError
 * listing every problem found; never exits.
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = {}): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    return { name: 'help' };
  }
  if (command.startsWith('-')) throw new UsageError([`expected a command before ${command} (commands: ${COMMANDS.join(', ')})`]);
  if (command !== 'login') throw new UsageError([`unknown command ${JSON.stringify(command)} (commands: ${COMMANDS.join(', ')})`]);

  const { values, mentioned, problems } = readFlags(rest, LOGIN_FLAGS);
  if (values.help === true) return { name: 'help' };
  const options = loginOptions(values, mentioned, env, problems);
  if (problems.length > 0) throw new UsageError(problems);
  return { name: 'login', options };
}

type FlagValues = Record<string, string | string[] | boolean | undefined>;

/**
 * parseArgs in non-strict mode, with its tokens checked here: every mistake
 * is reported (not only the first), in this CLI's words.
 */
function readFlags(
  args: string[],
  spec: Record<string, FlagSpec>,
): { values: FlagValues; mentioned: Set<string>; problems: string[] } {
  const { tokens } = parseArgs({ args, options: spec, strict: false, allowPositionals: true, tokens: true });
  const values: FlagValues = {};
  const mentioned = new Set<string>();
  const problems: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      problems.push(`unexpected argument ${JSON.stringify(token.value)}`);
      continue;
    }
    if (token.kind !== 'option') continue;
    const flag = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    if (flag === undefined) {
      problems.push(NOT_YET.has(token.name) ? `${token.rawName} is not supported yet` : `unknown flag ${token.rawName}`);
      continue;
    }
    mentioned.add(token.name);
    if (flag.type === 'boolean') {
      if (token.value !== undefined) problems.push(`${token.rawName} takes no value`);
      else values[token.name] = true;
      continue;
    }
    const value = token.value;
    if (value === undefined || (value.startsWith('-') && !token.inlineValue)) {
      problems.push(`${token.rawName} needs a value (write ${token.rawName}=VALUE for one that starts with "-")`);
      continue;
    }
    if (flag.multiple) {
      values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), value];
    } else if (values[token.name] !== undefined) {
      problems.push(`${token.rawName} given more than once`);
    } else {
      values[token.name] = value;
    }
  }
  return { values, mentioned, problems };
}

function loginOptions(
  values: FlagValues,
  mentioned: Set<string>,
  env: NodeJS.ProcessEnv,
  problems: string[],
): LoginOptions {
  // a flag given without a usable value was reported already
  const missing = (flag: string) => !mentioned.has(flag);
  const server = values.server as string | undefined;
  const attestors = (values.attestor as string[] | undefined) ?? [];
  const out = values.out as string | undefined;
  const flagToken = values.token as string | undefined;

  if (server === undefined) {
    if (missing('server')) problems.push('--server is required');
  } else {
    const problem = serverUrlProblem(server);
    if (problem) problems.push(problem);
  }

  if (attestors.length === 0 && missing('attestor')) {
    problems.push(`--attestor is required (known: ${collectorNames().join(', ')})`);
  }
  const seen = new Set<string>();
  for (const name of attestors) {
    if (!isKnownAttestor(name)) {
      problems.push(`unknown attestor ${JSON.stringify(name)} (known: ${collectorNames().join(', ')})`);
    } else if (seen.has(name)) {
      problems.push(`--attestor ${name} given more than once`);
    }
    seen.add(name);
  }

  if (out === undefined) {
    if (missing('out')) problems.push('--out is required');
  } else if (out === '') {
    problems.push('--out must not be empty');
  }

  let joinToken: string | undefined;
  if (seen.has('join_token')) {
    joinToken = flagToken ?? env[JOIN_TOKEN_ENV];
    if (flagToken === '') problems.push('--token must not be empty');
    else if ((joinToken === undefined || joinToken === '') && missing('token')) {
      problems.push(`--attestor join_token needs --token or ${JOIN_TOKEN_ENV}`);
    }
  } else if (flagToken !== undefined) {
    problems.push('--token is only used with --attestor join_token');
  }

  const imdsEndpoint = values['imds-endpoint'] as string | undefined;
  const awsRegion = values['aws-region'] as string | undefined;
  if (imdsEndpoint !== undefined) {
    const problem = serverUrlProblem(imdsEndpoint, '--imds-endpoint');
    if (problem) problems.push(problem);
    if (!seen.has('aws_iid')) problems.push('--imds-endpoint is only used with --attestor aws_iid');
  }
  if (awsRegion !== undefined && !seen.has('aws_iam')) problems.push('--aws-region is only used with --attestor aws_iam');

  const options: LoginOptions = { server: server ?? '', attestors, out: out ?? '' };
  if (joinToken !== undefined) options.joinToken = joinToken;
  if (imdsEndpoint !== undefined) options.imdsEndpoint = imdsEndpoint;
  if (awsRegion !== undefined) options.awsRegion = awsRegion;
  return options;
}

