/** The command line was wrong; `problems` lists every mistake found, one a line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * Parses a command line, or prints every problem (`PROGRAM: problem`) and
 * where to find the usage, to stderr: the command line's exit status 2 is
 * then returned in place of the parsed command. Other errors are thrown.
 */
export function parseOrExplain<T>(
  program: string,
  stderr: (text: string) => void,
  parse: () => T,
): { parsed: T } | { status: 2 } {
  try {
    return { parsed: parse() };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    for (const problem of error.problems) stderr(`${program}: ${problem}\n`);
    stderr(`run '${program} --help' for usage\n`);
    return { status: 2 };
  }
}

/** Runs a CLI's `main` as the process: its status becomes the exit code; an unexpected error is printed with the program's name. */
export function runAsProcess(program: string, main: () => Promise<number>): void {
  main().then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`${program}: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
