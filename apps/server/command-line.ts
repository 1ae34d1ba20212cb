import { parseArgs } from 'node:util';

/**
 * The server's command line, read before anything else is loaded: `--help`
 * and `--version` answer without NestJS, Prisma or the cloud SDKs.
 */
export type ServerInvocation = { name: 'help' } | { name: 'version' } | { name: 'run'; configFile?: string };

/** The command line was wrong; the message says how, in one line. */
export class ServerUsageError extends Error {}

export function serverUsage(): string {
  return `usage: attestd [--config FILE]
       attestd --help | --version

Runs the attestd server: the Agent API, the Admin API, /healthz, /readyz
and /metrics on one HTTP listener (HTTPS with ATTESTD_TLS_CERT_FILE and
ATTESTD_TLS_KEY_FILE).

flags:
  --config FILE   settings in YAML; ATTESTD_* environment variables win over it
  -h, --help      show this help
  --version       print the version

Every setting also has a variable (ATTESTD_TRUST_DOMAIN, ATTESTD_LISTEN,
DATABASE_URL, ATTESTD_ADMIN_TOKENS, ATTESTD_KEY_ENCRYPTION_KEY, ...);
docs/reference/settings.md lists them. A wrong or unknown setting stops the
start with one line naming it. Without DATABASE_URL the server keeps its
data in an embedded database under ATTESTD_DATA_DIR (default ./data), which
must be the server user's and mode 0700; with it, ATTESTD_KEY_ENCRYPTION_KEY
(or _FILE) is required.

exit status: 1 failed to start, 2 usage or setting error
`;
}

const FLAGS = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

export function parseServerCommandLine(argv: string[]): ServerInvocation {
  const { tokens } = parseArgs({ args: argv, options: FLAGS, strict: false, allowPositionals: true, tokens: true });
  let configFile: string | undefined;
  let version = false;
  for (const token of tokens) {
    if (token.kind === 'positional') throw new ServerUsageError(`unexpected argument ${JSON.stringify(token.value)}`);
    if (token.kind !== 'option') continue;
    if (token.name === 'help') return { name: 'help' };
    if (token.name === 'version' && token.value === undefined) version = true;
    else if (token.name === 'version') throw new ServerUsageError(`${token.rawName} takes no value`);
    else if (token.name !== 'config') throw new ServerUsageError(`unknown flag ${token.rawName}`);
    else if (token.value === undefined || token.value === '' || (token.value.startsWith('-') && !token.inlineValue)) {
      throw new ServerUsageError('--config needs a file name (write --config=FILE for one that starts with "-")');
    } else if (configFile !== undefined) throw new ServerUsageError('--config given more than once');
    else configFile = token.value;
  }
  if (version) return { name: 'version' };
  return configFile === undefined ? { name: 'run' } : { name: 'run', configFile };
}
