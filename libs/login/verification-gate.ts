import { ApiError } from '@libs/contracts/api-error';

/**
 * A cap on login completions in progress at once (`operations.md`,
 * "Protection"): proof verification costs CPU and cloud calls, so past the
 * cap a completion is refused at once with 429 and Retry-After rather than
 * queued behind the others until everyone times out.
 */
export class VerificationGate {
  private running = 0;

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      throw new ApiError('rate_limited', `more than ${this.limit} logins are being verified; retry in 1 s`, undefined, {
        'retry-after': '1',
      });
    }
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
    }
  }
}
