// attestd-agent: the reference agent CLI (operations.md, "CLIs").
import { parseCommandLine, usage } from './cli';
import { errorMessage } from '@libs/cli-support/errors';
import { runLogin, type LoginOptions, type LoginSummary } from './login';
import { createAgentTelemetry, type AgentTelemetry } from './telemetry';
import { AgentClient } from './client';
import { runDaemon, type DaemonDeps } from './daemon';
import { runJwt } from './jwt-command';
import { createAgentLog } from './log';
import { productVersion } from '@libs/cli-support/version';
import { parseOrExplain, runAsProcess } from '@libs/cli-support/usage';
import { resumeFrom } from './resume';
import type { AgentState } from './state';

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
  const line = parseOrExplain(PREFIX, io.stderr, () => parseCommandLine(argv, env));
  if ('status' in line) return line.status;
  const command = line.parsed;

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
          if (command.daemon) await runLoginDaemon(command.options, telemetry, io, control);
          else printLogin(io, await runLogin(command.options, { proofs: telemetry }));
          return 0;
        } finally {
          // metrics are best effort: a collector that cannot be reached does not change the exit status
          await telemetry
            .flush()
            .catch((error: unknown) => io.stderr(`${PREFIX}: telemetry: ${errorMessage(error)}\n`));
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

/**
 * `login --daemon`: resumes from the SVID a previous run left in `--out`
 * (no new login, same agent), or logs in first when there is none; then
 * renews until stopped, logging in again when the SVID can no longer renew.
 */
async function runLoginDaemon(
  options: LoginOptions,
  telemetry: AgentTelemetry,
  io: Io,
  control: RunControl,
): Promise<void> {
  const client = new AgentClient({ server: options.server, timeoutMs: options.timeoutMs });
  const login = () => runLogin(options, { client, proofs: telemetry });
  const found = await resumeFrom(options.out);
  for (const warning of found.warnings) io.stderr(`${PREFIX}: ${warning}\n`);
  let agent: AgentState | undefined;
  if (found.kind === 'resume') {
    agent = found.agent;
    const expiry = new Date(found.held.validity.notAfter).toISOString();
    const expired = found.held.validity.notAfter <= (control.daemon?.clock?.now() ?? Date.now());
    io.stdout(
      `resuming as ${found.held.spiffeId} (agent ${agent?.agentId ?? 'unknown'}) from ${options.out}, SVID ${expired ? 'expired' : 'expires'} ${expiry}\n`,
    );
  } else {
    const summary = await login();
    printLogin(io, summary);
    agent = { agentId: summary.agentId, spiffeId: summary.spiffeId, reattestable: summary.reattestable };
  }
  const log = createAgentLog(io.stderr);
  if (found.recovery.finished || found.recovery.removed > 0) {
    log.warn(
      { out: options.out, finishedWrite: found.recovery.finished ?? null, removedTempFiles: found.recovery.removed },
      'Finished or removed a write a crash cut short',
    );
  }
  await runDaemon(
    { out: options.out, signal: control.signal ?? new AbortController().signal, ...(agent && { agent }) },
    { ...control.daemon, client, log, renewals: telemetry, login },
  );
}

function printLogin(io: Io, summary: LoginSummary): void {
  io.stdout(
    `logged in as ${summary.spiffeId} (agent ${summary.agentId}), SVID expires ${summary.expiresAt}; wrote ${summary.files.dir}\n`,
  );
}

if (require.main === module) {
  // SIGTERM/SIGINT stop the daemon between renewals, never half-way through writing its files
  const stop = new AbortController();
  for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => stop.abort(name));
  const io: Io = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };
  runAsProcess(PREFIX, () => main(process.argv.slice(2), process.env, io, { signal: stop.signal }));
}
