import { readFlags, type FlagSpec, type ReadFlags } from '@libs/cli-support/flags';
import { serverUrlProblem } from '@libs/cli-support/server-url';
import { UsageError } from '@libs/cli-support/usage';
import { parseDuration, SECTION_NAMES, type SectionName } from '@libs/policy';
import {
  AGENT_STATUSES,
  AUDIT_OUTCOMES,
  type AgentChange,
  type AgentStatus,
  type AuditOutcome,
} from '@libs/contracts/admin-api';

export const SERVER_ENV = 'ATTESTD_SERVER';
export const TOKEN_ENV = 'ATTESTD_TOKEN';
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_AUDIT_LIMIT = 100;

export type Output = 'table' | 'json';

export interface GlobalOptions {
  server: string;
  token?: string;
  output: Output;
}

/** `--since`: a time as given, or a duration before now (resolved when the command runs). */
export type Since = { at: string } | { agoSeconds: number };

export type Command =
  | { name: 'config apply'; file: string }
  | { name: 'config validate'; file: string; offline: boolean }
  | { name: 'config get'; section: SectionName; version?: number }
  | { name: 'config history'; section: SectionName }
  | { name: 'config simulate'; file: string; limit?: number; since?: Since }
  | { name: 'config rollback'; section: SectionName; version: number }
  | { name: 'agents list'; status?: AgentStatus; attestor?: string }
  | { name: 'agents show'; id: string }
  | { name: 'agents change'; id: string; change: AgentChange }
  | {
      name: 'audit list';
      outcome?: AuditOutcome;
      attestor?: string;
      agentId?: string;
      since?: Since;
      limit: number;
      follow: boolean;
    }
  | { name: 'join-token create'; ttlSeconds?: number };

export type Invocation =
  { name: 'help'; topic?: string } | { name: 'version' } | { name: 'run'; global: GlobalOptions; command: Command };

const FLAGS = {
  server: { type: 'string' },
  token: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
  file: { type: 'string', short: 'f' },
  offline: { type: 'boolean' },
  version: { type: 'string' },
  status: { type: 'string' },
  attestor: { type: 'string' },
  outcome: { type: 'string' },
  agent: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  follow: { type: 'boolean' },
  ttl: { type: 'string' },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;

const GLOBAL_FLAGS: readonly FlagName[] = ['server', 'token', 'output', 'help'];

interface CommandSpec {
  /** the one operand, if the command takes one */
  operand?: 'SECTION' | 'ID';
  flags: readonly FlagName[];
}

const COMMANDS: Record<string, Record<string, CommandSpec>> = {
  config: {
    apply: { flags: ['file'] },
    validate: { flags: ['file', 'offline'] },
    get: { operand: 'SECTION', flags: ['version'] },
    history: { operand: 'SECTION', flags: [] },
    simulate: { flags: ['file', 'limit', 'since'] },
    rollback: { operand: 'SECTION', flags: ['version'] },
  },
  agents: {
    list: { flags: ['status', 'attestor'] },
    show: { operand: 'ID', flags: [] },
    evict: { operand: 'ID', flags: [] },
    ban: { operand: 'ID', flags: [] },
    unban: { operand: 'ID', flags: [] },
  },
  audit: {
    list: { flags: ['outcome', 'attestor', 'agent', 'since', 'limit', 'follow'] },
  },
  'join-token': {
    create: { flags: ['ttl'] },
  },
};

type FlagValues = ReadFlags<FlagName>['values'];

/**
 * Reads `argv` (without node and script) into a command and the global
 * options; global flags may stand anywhere on the line. Throws UsageError
 * listing every problem found; never exits.
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = {}): Invocation {
  // `--version` alone: elsewhere it is the version number of `config get` and `config rollback`
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === 'version')) return { name: 'version' };
  const { values, mentioned, positionals, problems } = readFlags(argv, FLAGS, { positionals: 'keep' });
  if (values.help === true) return helpFor(positionals);
  const [group, action, ...operands] = positionals;
  if (argv.length === 0) return { name: 'help' };
  if (group === 'help') return helpFor(positionals.slice(1));
  if (group === undefined)
    throw new UsageError([...problems, `expected a command (${Object.keys(COMMANDS).join(', ')})`]);
  const actions = Object.hasOwn(COMMANDS, group) ? COMMANDS[group] : undefined;
  if (actions === undefined) {
    throw new UsageError([
      `unknown command ${JSON.stringify(group)} (commands: ${Object.keys(COMMANDS).join(', ')})`,
      ...problems,
    ]);
  }
  const actionNames = Object.keys(actions).join(', ');
  if (action === undefined) throw new UsageError([`${group} needs a subcommand (${actionNames})`, ...problems]);
  const spec = Object.hasOwn(actions, action) ? actions[action] : undefined;
  if (spec === undefined)
    throw new UsageError([
      `unknown command ${JSON.stringify(`${group} ${action}`)} (${group} commands: ${actionNames})`,
      ...problems,
    ]);

  const name = `${group} ${action}`;
  for (const flag of mentioned) {
    if (!GLOBAL_FLAGS.includes(flag) && !spec.flags.includes(flag))
      problems.push(`--${flag} does not apply to ${name}`);
  }
  let operand: string | undefined;
  if (spec.operand !== undefined) {
    if (operands.length === 0) problems.push(`${name} needs ${spec.operand}`);
    operand = operands[0];
    if (operand === '') problems.push(`${spec.operand} must not be empty`);
    for (const extra of operands.slice(1)) problems.push(`unexpected argument ${JSON.stringify(extra)}`);
  } else {
    for (const extra of operands) problems.push(`unexpected argument ${JSON.stringify(extra)}`);
  }

  const read = new Reader(values, mentioned, problems);
  const global = globalOptions(read, env);
  const command = buildCommand(name, operand ?? '', read);
  if (problems.length > 0) throw new UsageError(problems);
  return { name: 'run', global, command };
}

/** The names of every command, `group action`. */
export function commandNames(): string[] {
  return Object.entries(COMMANDS).flatMap(([group, actions]) =>
    Object.keys(actions).map((action) => `${group} ${action}`),
  );
}

/** Help on the command the line names as far as it names one: a command, a group, or everything. */
function helpFor([group, action]: string[]): Invocation {
  const actions = group !== undefined && Object.hasOwn(COMMANDS, group) ? COMMANDS[group]! : undefined;
  if (actions === undefined) return { name: 'help' };
  return { name: 'help', topic: action !== undefined && Object.hasOwn(actions, action) ? `${group} ${action}` : group };
}

/** Typed access to the flag values; records a problem and returns undefined for a bad one. */
class Reader {
  constructor(
    private readonly values: FlagValues,
    /** flags on the line, with or without a usable value (a bad one was reported already) */
    private readonly mentioned: Set<FlagName>,
    readonly problems: string[],
  ) {}

  mentions(flag: FlagName): boolean {
    return this.mentioned.has(flag);
  }

  bool(flag: FlagName): boolean {
    return this.values[flag] === true;
  }

  string(flag: FlagName): string | undefined {
    const value = this.values[flag];
    if (typeof value !== 'string') return undefined;
    if (value === '') {
      this.problems.push(`--${flag} must not be empty`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(flag: FlagName, allowed: readonly T[]): T | undefined {
    const value = this.string(flag);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`--${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value as T;
  }

  positiveInteger(flag: FlagName): number | undefined {
    const value = this.string(flag);
    if (value === undefined) return undefined;
    if (!/^[1-9][0-9]{0,8}$/.test(value)) {
      this.problems.push(`--${flag} must be a positive integer, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return Number(value);
  }

  duration(flag: FlagName): number | undefined {
    const value = this.string(flag);
    if (value === undefined) return undefined;
    const seconds = tryDuration(value);
    if (seconds === undefined || seconds === 0) {
      this.problems.push(`--${flag} must be a duration such as 30m, 1h or 2d, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return seconds;
  }

  required(flag: FlagName, name: string, what: string): void {
    if (!this.mentioned.has(flag)) this.problems.push(`${name} needs --${flag} ${what}`);
  }
}

function globalOptions(read: Reader, env: NodeJS.ProcessEnv): GlobalOptions {
  const fromFlag = read.mentions('server');
  const envServer = env[SERVER_ENV] === '' ? undefined : env[SERVER_ENV];
  const server = fromFlag ? read.string('server') : (envServer ?? DEFAULT_SERVER);
  const problem = server === undefined ? undefined : serverUrlProblem(server, fromFlag ? '--server' : SERVER_ENV);
  if (problem) read.problems.push(problem);
  const envToken = env[TOKEN_ENV] === '' ? undefined : env[TOKEN_ENV];
  const token = read.string('token') ?? envToken;
  const output = read.oneOf('output', ['table', 'json'] as const) ?? 'table';
  return { server: server ?? '', output, ...(token !== undefined && { token }) };
}

function buildCommand(name: string, operand: string, read: Reader): Command {
  switch (name) {
    case 'config apply':
      read.required('file', name, 'FILE');
      return { name, file: read.string('file') ?? '' };
    case 'config simulate': {
      read.required('file', name, 'FILE');
      const limit = read.positiveInteger('limit');
      const since = sinceOf(read);
      return { name, file: read.string('file') ?? '', ...(limit !== undefined && { limit }), ...(since && { since }) };
    }
    case 'config validate':
      read.required('file', name, 'FILE');
      return { name, file: read.string('file') ?? '', offline: read.bool('offline') };
    case 'config get': {
      const section = sectionName(operand, read);
      const version = read.positiveInteger('version');
      return { name, section, ...(version !== undefined && { version }) };
    }
    case 'config history':
      return { name, section: sectionName(operand, read) };
    case 'config rollback': {
      const section = sectionName(operand, read);
      read.required('version', name, 'N');
      return { name, section, version: read.positiveInteger('version') ?? 0 };
    }
    case 'agents list': {
      const status = read.oneOf('status', AGENT_STATUSES);
      const attestor = read.string('attestor');
      return { name, ...(status && { status }), ...(attestor && { attestor }) };
    }
    case 'agents show':
      return { name, id: operand };
    case 'agents evict':
    case 'agents ban':
    case 'agents unban':
      return { name: 'agents change', id: operand, change: name.slice('agents '.length) as AgentChange };
    case 'audit list': {
      const outcome = read.oneOf('outcome', AUDIT_OUTCOMES);
      const attestor = read.string('attestor');
      const agentId = read.string('agent');
      const since = sinceOf(read);
      const limit = read.positiveInteger('limit') ?? DEFAULT_AUDIT_LIMIT;
      return {
        name,
        ...(outcome && { outcome }),
        ...(attestor && { attestor }),
        ...(agentId && { agentId }),
        ...(since && { since }),
        limit,
        follow: read.bool('follow'),
      };
    }
    case 'join-token create': {
      const ttlSeconds = read.duration('ttl');
      return { name, ...(ttlSeconds !== undefined && { ttlSeconds }) };
    }
  }
  throw new Error(`attestctl: no builder for ${name}`);
}

function sectionName(operand: string, read: Reader): SectionName {
  if (operand !== '' && !(SECTION_NAMES as readonly string[]).includes(operand)) {
    read.problems.push(`unknown section ${JSON.stringify(operand)} (sections: ${SECTION_NAMES.join(', ')})`);
  }
  return operand as SectionName;
}

function sinceOf(read: Reader): Since | undefined {
  const value = read.string('since');
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) return { at: value };
  const seconds = tryDuration(value);
  if (seconds !== undefined) return { agoSeconds: seconds };
  read.problems.push(
    `--since must be an RFC 3339 time (2025-01-31T12:00:00Z) or a duration ago (30m, 2h, 7d), got ${JSON.stringify(value)}`,
  );
  return undefined;
}

function tryDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}
