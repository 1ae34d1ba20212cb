import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { until } from '@libs/testing/until';
import { buildServer } from './server-process';
import { refuseInUnitTier } from './tier';

/** The agent's main() compiled with the test harness (`agent-harness.ts`), to run as processes. */
export async function buildAgent(): Promise<{ dir: string; remove(): void }> {
  return buildServer([join('test', 'support')]);
}

export interface AgentProcess {
  readonly child: ChildProcess;
  /** everything the process wrote so far */
  readonly output: { stdout: string; stderr: string };
  /** its JSON log lines so far (stderr) */
  logLines(): Record<string, unknown>[];
  /** resolves with the first match of `pattern` on stdout; rejects when the process exits first */
  stdoutMatch(pattern: RegExp): Promise<RegExpExecArray>;
  /** resolves once `count` log lines have `msg`; rejects when the process exits first */
  logged(msg: string, count?: number): Promise<void>;
  /** the exit status, or the signal's name */
  readonly exited: Promise<number | string>;
  /** SIGKILL: no handler runs, no write finishes */
  kill(): Promise<void>;
  /** SIGTERM, as a supervisor stops it */
  stop(): Promise<number | string>;
}

/** Starts `attestd-agent ARGV` (through the harness in `build`) as a process of its own. */
export function startAgentProcess(
  build: { dir: string },
  argv: string[],
  env: Record<string, string> = {},
): AgentProcess {
  refuseInUnitTier('agent process');
  const child = spawn(process.execPath, [join(build.dir, 'test', 'support', 'agent-harness.js'), ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const logLines = () =>
    output.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  /** until `condition` holds; an error naming the output when the process is gone first */
  const whileRunning = async <T>(what: string, condition: () => T | undefined): Promise<T> => {
    let found: T | undefined;
    await until(() => (found = condition()) !== undefined || gone);
    if (found === undefined) found = condition(); // it may have written it on its way out
    if (found === undefined)
      throw new Error(`the agent exited (${await exited}) before ${what}:\n${output.stdout}${output.stderr}`);
    return found;
  };
  return {
    child,
    output,
    logLines,
    exited,
    stdoutMatch: (pattern) => whileRunning(`printing ${pattern}`, () => pattern.exec(output.stdout) ?? undefined),
    logged: async (msg, count = 1) => {
      await whileRunning(`logging "${msg}" ${count} times`, () =>
        logLines().filter((line) => line.msg === msg).length >= count ? true : undefined,
      );
    },
    kill: async () => {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
    stop: () => {
      if (!gone) child.kill('SIGTERM');
      return exited;
    },
  };
}
