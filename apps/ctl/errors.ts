export { errorMessage, isErrorLike, type ErrorLike } from '@libs/cli-support/errors';

/** A failure the command reports in its own words (a file it cannot read, a document without `section:`): exit 1. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';

  constructor(
    message: string,
    /** further lines printed after the message, unprefixed (`FILE:LINE:COL /path: message`) */
    readonly lines: string[] = [],
  ) {
    super(message);
  }
}
