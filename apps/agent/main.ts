// attestd-agent: the reference agent CLI (operations.md, "CLIs").
import { parseCommandLine, usage, UsageError } from './cli';
import { errorMessage } from '../../libs/cli-support/errors';
import { runLogin } from './login';
import { createAgentTelemetry } from './telemetry';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PREFIX = 'attestd-agent';

/** Runs one command line; returns the exit status (0, 1 failure, 2 usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
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
        io.stdout(usage());
        return 0;
      case 'login': {
        const telemetry = createAgentTelemetry(env);
        try {
          const summary = await runLogin(command.options, { proofs: telemetry });
          io.stdout(
            `logged in as ${summary.spiffeId} (agent ${summary.agentId}), SVID expires ${summary.expiresAt}; wrote ${summary.files.dir}\n`,
          );
          return 0;
        } finally {
          // metrics are best effort: a collector that cannot be reached does not change the exit status
          await telemetry.flush().catch((error: unknown) => io.stderr(`${PREFIX}: telemetry: ${errorMessage(error)}\n`));
        }
      }
    }
  } catch (error) {
    io.stderr(`${PREFIX}: ${errorMessage(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`${PREFIX}: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
