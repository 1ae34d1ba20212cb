// attestctl: the admin CLI of attestd (operations.md, "CLIs").
import { setTimeout as delay } from 'node:timers/promises';
import { formatConfigError } from '@libs/policy';
import { parseCommandLine, type Command } from './cli';
import { usage } from './help';
import { productVersion } from '@libs/cli-support/version';
import { parseOrExplain, runAsProcess } from '@libs/cli-support/usage';
import { AdminApiError, AdminClient } from './client';
import { agentsChange, agentsList, agentsShow } from './commands/agents';
import { auditList } from './commands/audit';
import {
  configApply,
  configGet,
  configHistory,
  configRollback,
  configSimulate,
  configValidate,
} from './commands/config';
import { joinTokenCreate } from './commands/join-token';
import type { Context, Hooks, Io } from './context';
import { readTextFile } from './documents';
import { CommandFailed, errorMessage } from './errors';

export type { Hooks, Io };

const PREFIX = 'attestctl';
export const POLL_INTERVAL_MS = 2000;

export interface MainOptions extends Partial<Hooks> {
  /** defaults to the global fetch */
  fetch?: typeof fetch;
}

/** Runs one command line; returns the exit status (0, 1 failure, 2 usage). Never exits the process. */
export async function main(argv: string[], env: NodeJS.ProcessEnv, io: Io, options: MainOptions = {}): Promise<number> {
  const line = parseOrExplain(PREFIX, io.stderr, () => parseCommandLine(argv, env));
  if ('status' in line) return line.status;
  const invocation = line.parsed;
  if (invocation.name === 'help') {
    io.stdout(usage(invocation.topic));
    return 0;
  }
  if (invocation.name === 'version') {
    io.stdout(`${PREFIX} ${productVersion()}\n`);
    return 0;
  }

  const { global, command } = invocation;
  const context: Context = {
    global,
    io,
    client: new AdminClient({
      server: global.server,
      ...(global.token !== undefined && { token: global.token }),
      ...(options.fetch && { fetch: options.fetch }),
    }),
    hooks: {
      now: options.now ?? (() => new Date()),
      readText: options.readText ?? readTextFile,
      sleep: options.sleep ?? sleep,
      pollIntervalMs: options.pollIntervalMs ?? POLL_INTERVAL_MS,
      ...(options.signal && { signal: options.signal }),
      ...(options.maxPolls !== undefined && { maxPolls: options.maxPolls }),
    },
  };
  try {
    await run(context, command);
    return 0;
  } catch (error) {
    for (const line of failureLines(error, global.token !== undefined)) io.stderr(`${line}\n`);
    return 1;
  }
}

function run(context: Context, command: Command): Promise<void> {
  switch (command.name) {
    case 'config apply':
      return configApply(context, command);
    case 'config validate':
      return configValidate(context, command);
    case 'config get':
      return configGet(context, command);
    case 'config history':
      return configHistory(context, command);
    case 'config simulate':
      return configSimulate(context, command);
    case 'config rollback':
      return configRollback(context, command);
    case 'agents list':
      return agentsList(context, command);
    case 'agents show':
      return agentsShow(context, command);
    case 'agents change':
      return agentsChange(context, command);
    case 'audit list':
      return auditList(context, command);
    case 'join-token create':
      return joinTokenCreate(context, command);
  }
}

/**
 * What a failure prints: `attestctl: 422 invalid_config: <detail>`, then one
 * line per `errors[]` entry (`FILE:LINE:COL /path: message` when a document
 * file was sent, indented otherwise).
 */
export function failureLines(error: unknown, tokenGiven: boolean): string[] {
  if (error instanceof AdminApiError) {
    const lines = [`${PREFIX}: ${error.status} ${error.code}: ${error.detail}`];
    for (const entry of error.errors) {
      lines.push(error.file === undefined ? `  ${formatConfigError(entry)}` : formatConfigError(entry, error.file));
    }
    if (error.status === 401 && !tokenGiven) lines.push(`${PREFIX}: no token given: set ATTESTD_TOKEN or pass --token`);
    return lines;
  }
  if (error instanceof CommandFailed) return [`${PREFIX}: ${error.message}`, ...error.lines];
  return [`${PREFIX}: ${errorMessage(error)}`];
}

/** Waits `ms`; an abort (Ctrl-C during --follow) ends the wait early instead of failing. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}

if (require.main === module) {
  const interrupted = new AbortController();
  // With --follow the first Ctrl-C ends the poll loop cleanly (exit 0) and a
  // second one kills at once; other commands keep Node's default (die at once).
  if (process.argv.includes('--follow')) {
    process.once('SIGINT', () => {
      interrupted.abort();
      process.once('SIGINT', () => process.exit(130));
    });
  }
  const io: Io = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };
  runAsProcess(PREFIX, () => main(process.argv.slice(2), process.env, io, { signal: interrupted.signal }));
}
