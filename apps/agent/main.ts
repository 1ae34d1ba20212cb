// attestd-agent: the reference agent CLI (operations.md, "CLIs").
import { parseCommandLine, usage, UsageError } from './cli';
import { errorMessage } from '../../libs/cli-support/errors';
import { runLogin } from './login';
import { createAgentTelemetry } from './telemetry';
import { AgentClient } from './client';
import { runDaemon, type DaemonDeps } from './daemon';
import { runJwt } from './jwt-command';
import { createAgentLog } from './log';
import { productVersion } from '../../libs/cli-support/version';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PREFIX = 'attestd-agent';

/** Seams for `--daemon`: stopping it, and its clock and randomness (tests). */
export interface RunControl {
  /** aborted on SIGTERM/SIGINT: the daemon stops and the exit status is 0 */
  signal?: AbortSignal;
  daemon?: Partial<Pick<DaemonDeps, 'clock' | 'random' | 'backoff'>>;
}

/** Runs one command line; returns the exit status (0, 1 failure, 2 usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv, io: Io, control: RunControl = {}): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    for (const problem of error.problems) io.stderr(`${PREFIX}: ${problem}\n`);
    io.stderr(`run '${PREFIX} --help' for usage\n`);
    return 2;
  }

  try {
    switch (command.name) {
      case 'help':
        io.stdout(usage(command.topic));
        return 0;
      case 'version':
        io.stdout(`${PREFIX} ${productVersion()}\n`);
        return 0;
      case 'login': {
        const telemetry = createAgentTelemetry(env);
        try {
          const summary = await runLogin(command.options, { proofs: telemetry });
          io.stdout(
            `logged in as ${summary.spiffeId} (agent ${summary.agentId}), SVID expires ${summary.expiresAt}; wrote ${summary.files.dir}\n`,
          );
          if (command.daemon) {
            await runDaemon(
              { out: command.options.out, signal: control.signal ?? new AbortController().signal },
              { ...control.daemon, client: new AgentClient({ server: command.options.server }), log: createAgentLog(io.stderr), renewals: telemetry },
            );
          }
          return 0;
        } finally {
          // metrics are best effort: a collector that cannot be reached does not change the exit status
          await telemetry.flush().catch((error: unknown) => io.stderr(`${PREFIX}: telemetry: ${errorMessage(error)}\n`));
        }
      }
      case 'jwt': {
        const { token } = await runJwt(command.options);
        io.stdout(`${token}\n`);
        return 0;
      }
    }
  } catch (error) {
    io.stderr(`${PREFIX}: ${errorMessage(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  // SIGTERM/SIGINT stop the daemon between renewals, never half-way through writing its files
  const stop = new AbortController();
  for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => stop.abort(name));
  main(process.argv.slice(2), process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }, { signal: stop.signal }).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`${PREFIX}: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
