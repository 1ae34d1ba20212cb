import { readFlags, type FlagSpec, type ReadFlags } from '@libs/cli-support/flags';
import { serverUrlProblem } from '@libs/cli-support/server-url';
import { UsageError } from '@libs/cli-support/usage';
import type { JwtOptions } from './jwt-command';
import type { LoginOptions } from './login';
import { collectorNames, isKnownAttestor } from './proofs/index';

export const JOIN_TOKEN_ENV = 'ATTESTD_JOIN_TOKEN';

/** The commands with a help page of their own (`attestd-agent login --help`). */
export type HelpTopic = 'login' | 'jwt';

export type Command =
  | { name: 'help'; topic?: HelpTopic }
  | { name: 'version' }
  | { name: 'login'; options: LoginOptions; daemon: boolean }
  | { name: 'jwt'; options: JwtOptions };

const SYNOPSIS: Record<HelpTopic, string> = {
  login: 'attestd-agent login --server URL --attestor NAME [--attestor NAME ...] --out DIR [--token TOKEN] [--daemon]',
  jwt: 'attestd-agent jwt --server URL --out DIR --audience AUD [--audience AUD ...]',
};

const SUMMARY: Record<HelpTopic, string> = {
  login: `Attests this node to attestd with proofs collected on it and writes
svid.pem, svid.key (mode 0600) and bundle.pem to --out.`,
  jwt: `Prints a JWT-SVID for the audiences to stdout, signed by attestd for the
SVID that login wrote to --out.`,
};

function flagsHelp(topic: HelpTopic): string {
  if (topic === 'jwt') {
    return `jwt flags:
  --server URL       attestd base URL (required)
  --out DIR          the directory login wrote the SVID and key to (required)
  --audience AUD     the token's audience; repeat for several, at most 8 (required)
`;
  }
  return `login flags:
  --server URL       attestd base URL, http:// or https:// (required)
  --attestor NAME    attestor to offer; repeat to offer several (required)
                     known: ${collectorNames().join(', ')}
  --out DIR          directory for the files, created with mode 0700 if missing (required)
  --token TOKEN      the join token for --attestor join_token; prefer ${JOIN_TOKEN_ENV}
                     in the environment, which other users cannot read from ps
  --imds-endpoint URL  instance metadata service for --attestor aws_iid
                     (default AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254)
  --aws-region NAME  STS region to sign for with --attestor aws_iam (default AWS_REGION,
                     then AWS_DEFAULT_REGION);
                     credentials come from the AWS SDK's default chain
  --azure-imds-endpoint URL  Azure instance metadata service for --attestor azure_msi
                     (default http://169.254.169.254)
  --azure-resource URI  resource (audience) of the azure_msi token: the policy
                     tenant's resourceId (default https://management.azure.com/)
  --k8s-cluster NAME  cluster name (KubernetesClusters) for --attestor k8s_psat (required)
  --k8s-token-file PATH  projected service-account token for --attestor k8s_psat
                     (default /var/run/secrets/tokens/attestd)
  --daemon           keep running: renew the SVID at half-life (fresh key,
                     files replaced atomically), retry with backoff; restarted
                     on a --out that holds an SVID, resume from it without a
                     login; log in again when the SVID expired or the agent was
                     evicted; stop on SIGTERM/SIGINT, or exit 1 when attestd
                     refuses the agent (banned) or a TOFU node must be evicted
`;
}

const EXIT_STATUS = 'exit status: 0 done (or the daemon stopped by a signal), 1 failure, 2 usage error\n';

/** The whole usage, or one command's page. */
export function usage(topic?: HelpTopic): string {
  if (topic !== undefined) {
    return `usage: ${SYNOPSIS[topic]}\n\n${SUMMARY[topic]}\n\n${flagsHelp(topic)}  -h, --help         show this help\n\n${EXIT_STATUS}`;
  }
  return `usage: ${SYNOPSIS.login}
       ${SYNOPSIS.jwt}
       attestd-agent COMMAND --help | --version

Attests this node to attestd with proofs collected on it and writes an
X.509-SVID, its private key and the trust bundle.

commands:
  login              log in and write svid.pem, svid.key (mode 0600) and bundle.pem
  jwt                print a JWT-SVID for the SVID in --out to stdout

${flagsHelp('login')}
${flagsHelp('jwt')}
other flags:
  -h, --help         show this help; COMMAND --help shows one command's
  --version          print the version

${EXIT_STATUS}`;
}

const LOGIN_FLAGS = {
  server: { type: 'string' },
  attestor: { type: 'string', multiple: true },
  out: { type: 'string' },
  token: { type: 'string' },
  'imds-endpoint': { type: 'string' },
  'aws-region': { type: 'string' },
  'azure-imds-endpoint': { type: 'string' },
  'azure-resource': { type: 'string' },
  'k8s-cluster': { type: 'string' },
  'k8s-token-file': { type: 'string' },
  // booleans may be repeated
  daemon: { type: 'boolean', multiple: true },
  help: { type: 'boolean', short: 'h', multiple: true },
} as const satisfies Record<string, FlagSpec>;

const JWT_FLAGS = {
  server: { type: 'string' },
  out: { type: 'string' },
  audience: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h', multiple: true },
} as const satisfies Record<string, FlagSpec>;

/** `jwt-svid` accepts at most this many audiences (`libs/contracts/agent-api.ts`). */
const MAX_AUDIENCES = 8;

const COMMANDS = ['login', 'jwt'];

/**
 * Reads `argv` (without node and script) into a command. Throws UsageError
 * listing every problem found; never exits.
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = {}): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') return { name: 'help' };
  if (command === '--version' || command === 'version') {
    if (rest.length > 0) throw new UsageError([`${command} takes no arguments`]);
    return { name: 'version' };
  }
  if (command === 'help') return helpFor(rest);
  if (command.startsWith('-'))
    throw new UsageError([`expected a command before ${command} (commands: ${COMMANDS.join(', ')})`]);
  if (command === 'jwt') return parseJwt(rest);
  if (command !== 'login')
    throw new UsageError([`unknown command ${JSON.stringify(command)} (commands: ${COMMANDS.join(', ')})`]);

  const { values, mentioned, problems } = readFlags(rest, LOGIN_FLAGS, { positionals: 'refuse' });
  if (values.help === true) return { name: 'help', topic: 'login' };
  const options = loginOptions(values, mentioned, env, problems);
  if (problems.length > 0) throw new UsageError(problems);
  return { name: 'login', options, daemon: values.daemon === true };
}

/** `attestd-agent help [COMMAND]`. */
function helpFor(args: string[]): Command {
  const [topic, ...extra] = args;
  if (topic === undefined) return { name: 'help' };
  if (!COMMANDS.includes(topic))
    throw new UsageError([`unknown command ${JSON.stringify(topic)} (commands: ${COMMANDS.join(', ')})`]);
  if (extra.length > 0) throw new UsageError([`unexpected argument ${JSON.stringify(extra[0])}`]);
  return { name: 'help', topic: topic as HelpTopic };
}

function parseJwt(args: string[]): Command {
  const { values, mentioned, problems } = readFlags(args, JWT_FLAGS, { positionals: 'refuse' });
  if (values.help === true) return { name: 'help', topic: 'jwt' };
  const server = values.server as string | undefined;
  const out = values.out as string | undefined;
  const audiences = (values.audience as string[] | undefined) ?? [];
  if (server === undefined) {
    if (!mentioned.has('server')) problems.push('--server is required');
  } else {
    const problem = serverUrlProblem(server);
    if (problem) problems.push(problem);
  }
  if (out === undefined) {
    if (!mentioned.has('out')) problems.push('--out is required');
  } else if (out === '') {
    problems.push('--out must not be empty');
  }
  if (audiences.length === 0 && !mentioned.has('audience')) problems.push('--audience is required');
  if (audiences.length > MAX_AUDIENCES) problems.push(`--audience given more than ${MAX_AUDIENCES} times`);
  for (const [i, audience] of audiences.entries()) {
    if (!/^[\x21-\x7e]{1,256}$/.test(audience))
      problems.push(
        `--audience ${JSON.stringify(audience)} must be 1 to 256 printable ASCII characters without spaces`,
      );
    else if (audiences.indexOf(audience) !== i) problems.push(`--audience ${audience} given more than once`);
  }
  if (problems.length > 0) throw new UsageError(problems);
  return { name: 'jwt', options: { server: server ?? '', out: out ?? '', audiences } };
}

function loginOptions(
  values: ReadFlags<keyof typeof LOGIN_FLAGS>['values'],
  mentioned: Set<keyof typeof LOGIN_FLAGS>,
  env: NodeJS.ProcessEnv,
  problems: string[],
): LoginOptions {
  // a flag given without a usable value was reported already
  const missing = (flag: keyof typeof LOGIN_FLAGS) => !mentioned.has(flag);
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
  if (awsRegion !== undefined && !seen.has('aws_iam'))
    problems.push('--aws-region is only used with --attestor aws_iam');
  const azureImdsEndpoint = values['azure-imds-endpoint'] as string | undefined;
  const azureResource = values['azure-resource'] as string | undefined;
  if (azureImdsEndpoint !== undefined) {
    const problem = serverUrlProblem(azureImdsEndpoint, '--azure-imds-endpoint');
    if (problem) problems.push(problem);
  }
  if (azureResource === '') problems.push('--azure-resource must not be empty');
  for (const [flag, value] of [
    ['--azure-imds-endpoint', azureImdsEndpoint],
    ['--azure-resource', azureResource],
  ] as const) {
    if (value !== undefined && !seen.has('azure_msi')) problems.push(`${flag} is only used with --attestor azure_msi`);
  }

  const k8sCluster = values['k8s-cluster'] as string | undefined;
  const k8sTokenFile = values['k8s-token-file'] as string | undefined;
  if (seen.has('k8s_psat') && !k8sCluster) problems.push('--attestor k8s_psat needs --k8s-cluster');
  if (k8sTokenFile === '') problems.push('--k8s-token-file must not be empty');
  for (const [flag, value] of [
    ['--k8s-cluster', k8sCluster],
    ['--k8s-token-file', k8sTokenFile],
  ] as const) {
    if (value !== undefined && !seen.has('k8s_psat')) problems.push(`${flag} is only used with --attestor k8s_psat`);
  }

  const options: LoginOptions = { server: server ?? '', attestors, out: out ?? '' };
  if (joinToken !== undefined) options.joinToken = joinToken;
  // The AWS SDK's own variables, read here with the rest of the command line
  // so that the collectors see only their settings.
  const imdsFromEnv = seen.has('aws_iid') ? env.AWS_EC2_METADATA_SERVICE_ENDPOINT || undefined : undefined;
  if (imdsEndpoint === undefined && imdsFromEnv !== undefined) {
    const problem = serverUrlProblem(imdsFromEnv, 'AWS_EC2_METADATA_SERVICE_ENDPOINT');
    if (problem) problems.push(problem);
  }
  const imds = imdsEndpoint ?? imdsFromEnv;
  const region = awsRegion ?? (seen.has('aws_iam') ? env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined : undefined);
  if (imds !== undefined) options.imdsEndpoint = imds;
  if (region !== undefined) options.awsRegion = region;
  if (azureImdsEndpoint !== undefined) options.azureImdsEndpoint = azureImdsEndpoint;
  if (azureResource) options.azureResource = azureResource;
  if (k8sCluster) options.k8sCluster = k8sCluster;
  if (k8sTokenFile) options.k8sTokenFile = k8sTokenFile;
  return options;
}
