import { SECTION_NAMES } from '@libs/policy';
import { AGENT_STATUSES } from '@libs/contracts/admin-api';
import { DEFAULT_AUDIT_LIMIT, DEFAULT_SERVER, SERVER_ENV, TOKEN_ENV } from './cli';

interface CommandHelp {
  /** the command line after `attestctl`, as the overview lists it */
  synopsis: string;
  /** what it does, as the overview and the command's page say it */
  summary: string[];
  /** the command's own flags, one line each (`  --flag VALUE   meaning`) */
  flags: string[];
}

/** One entry per command of cli.ts's COMMANDS, keyed `group action`. */
export const COMMAND_HELP: Record<string, CommandHelp> = {
  'config apply': {
    synopsis: 'config apply -f FILE',
    summary: ['store FILE as a new version of the section named in its section: field'],
    flags: ['-f, --file FILE      the document, YAML (or JSON when the name ends in .json); at most 1 MiB'],
  },
  'config validate': {
    synopsis: 'config validate -f FILE [--offline]',
    summary: ['check FILE on the server, or with --offline locally (built-in attestors only)'],
    flags: [
      '-f, --file FILE      the document, YAML or JSON',
      '--offline            validate here with the built-in attestors; needs no server or token',
    ],
  },
  'config get': {
    synopsis: 'config get SECTION [--version N]',
    summary: ['print the current (or version N) document as pushed; JSON with --output json'],
    flags: ['--version N          a stored version instead of the current one'],
  },
  'config history': {
    synopsis: 'config history SECTION',
    summary: ['list the versions of a section'],
    flags: [],
  },
  'config simulate': {
    synopsis: 'config simulate -f FILE [--limit N] [--since T]',
    summary: [
      'replay the newest N (server default 1000, at most 10000) login attempts',
      'against FILE and show who would newly be allowed or denied',
    ],
    flags: [
      '-f, --file FILE      the AgentAttestation document to try; nothing is stored',
      '--limit N            how many of the newest login attempts to replay',
      '--since T            only attempts after T: an RFC 3339 time or a duration ago (30m, 2h, 7d)',
    ],
  },
  'config rollback': {
    synopsis: 'config rollback SECTION --version N',
    summary: ["store version N's content as a new version"],
    flags: ['--version N          the version whose content becomes current again (required)'],
  },
  'agents list': {
    synopsis: 'agents list [--status S] [--attestor A]',
    summary: [`list agents (every page); S is ${AGENT_STATUSES.join(', ')}`],
    flags: [
      `--status S           only agents in status S (${AGENT_STATUSES.join(', ')})`,
      '--attestor A         only agents that logged in with attestor A',
    ],
  },
  'agents show': { synopsis: 'agents show ID', summary: ['show one agent'], flags: [] },
  'agents evict': {
    synopsis: 'agents evict ID',
    summary: ["free the agent's TOFU keys so its node may attest again"],
    flags: [],
  },
  'agents ban': { synopsis: 'agents ban ID', summary: ["stop the agent's node from attesting again"], flags: [] },
  'agents unban': { synopsis: 'agents unban ID', summary: ['let a banned node attest again'], flags: [] },
  'audit list': {
    synopsis: 'audit list [--outcome success|failure] [--attestor A] [--agent ID] [--since T] [--limit N] [--follow]',
    summary: [
      `the newest N (default ${DEFAULT_AUDIT_LIMIT}) audit events, oldest first;`,
      'T is an RFC 3339 time or a duration ago (30m, 2h, 7d);',
      '--follow then prints new events every 2 s until interrupted',
    ],
    flags: [
      '--outcome O          success or failure',
      '--attestor A         only events of logins that offered attestor A',
      '--agent ID           only events of this agent',
      '--since T            only events after T: an RFC 3339 time or a duration ago',
      `--limit N            how many of the newest events (default ${DEFAULT_AUDIT_LIMIT})`,
      '--follow             keep printing new events every 2 s until Ctrl-C',
    ],
  },
  'join-token create': {
    synopsis: 'join-token create [--ttl 1h]',
    summary: ['make a one-time join token (ttl like 30m, 1h, 2d; server default 1h)'],
    flags: ['--ttl DURATION       how long the token may be used: 60 s to 30 days (server default 1h)'],
  },
};

const GLOBAL_FLAGS_HELP = `global flags:
  --server URL          attestd base URL (default $${SERVER_ENV}, else ${DEFAULT_SERVER})
  --token TOKEN         admin or viewer token; prefer $${TOKEN_ENV}, which other users cannot read from ps
  -o, --output FORMAT   table (for people; the default) or json (for scripts)
  -h, --help            show this help; COMMAND --help shows one command's
  --version             print the version (alone on the line)
`;

const EXIT_STATUS = 'exit status: 0 done, 1 the command failed (any non-2xx answer, no answer), 2 usage error\n';
const COLUMN = 37;

/** `  synopsis   summary` lines of the overview; a long synopsis puts its summary below it. */
function overviewLines(name: string): string {
  const { synopsis, summary } = COMMAND_HELP[name]!;
  const indent = ' '.repeat(COLUMN + 2);
  const [first, ...rest] = summary;
  const head = synopsis.length < COLUMN ? `  ${synopsis.padEnd(COLUMN)}${first}` : `  ${synopsis}\n${indent}${first}`;
  return [head, ...rest.map((line) => indent + line)].join('\n');
}

/**
 * The usage: the overview, one group's commands (`attestctl agents --help`),
 * or one command's page (`attestctl config apply --help`).
 */
export function usage(topic?: string): string {
  if (topic !== undefined && Object.hasOwn(COMMAND_HELP, topic)) return commandPage(topic);
  const names = Object.keys(COMMAND_HELP).filter((name) => topic === undefined || name.startsWith(`${topic} `));
  if (topic !== undefined && names.length > 0) {
    return `usage: attestctl [global flags] ${topic} COMMAND

commands:
${names.map(overviewLines).join('\n')}

${GLOBAL_FLAGS_HELP}
run 'attestctl ${topic} COMMAND --help' for a command's flags

${EXIT_STATUS}`;
  }
  return `usage: attestctl [--server URL] [--token TOKEN] [--output table|json] COMMAND

Administers attestd through its Admin API.

commands:
${Object.keys(COMMAND_HELP).map(overviewLines).join('\n')}

sections: ${SECTION_NAMES.join(', ')}

${GLOBAL_FLAGS_HELP}
${EXIT_STATUS}`;
}

function commandPage(name: string): string {
  const { synopsis, summary, flags } = COMMAND_HELP[name]!;
  const flagsText = flags.length === 0 ? '' : `flags:\n${flags.map((line) => `  ${line}`).join('\n')}\n\n`;
  const sections = synopsis.includes('SECTION') ? `SECTION is one of ${SECTION_NAMES.join(', ')}\n\n` : '';
  return `usage: attestctl [global flags] ${synopsis}

${summary.join('\n')}

${sections}${flagsText}${GLOBAL_FLAGS_HELP}
${EXIT_STATUS}`;
}
