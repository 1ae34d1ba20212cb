/**
 * When the renewing agent acts (`operations.md`: "with `--daemon` renews at
 * half-life and retries with backoff"). Pure: times in epoch milliseconds
 * and the random draw come in, a wait comes out.
 */

/** The backoff between failed renewals: doubles from `baseMs` up to `capMs`. */
export interface BackoffSettings {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 1_000, capMs: 60_000 };

/** The validity of the SVID the agent holds. */
export interface Validity {
  notBefore: number;
  notAfter: number;
}

/** Half-way through the SVID's validity: the time to renew it. */
export function renewalTime({ notBefore, notAfter }: Validity): number {
  return notBefore + Math.floor((notAfter - notBefore) / 2);
}

/**
 * The wait after the `failures`-th failure in a row (1 for the first):
 * `min(cap, base * 2^(failures-1))`, of which a random half ("equal
 * jitter"): agents that failed together do not retry together, yet none
 * retries sooner than half the step. `random` is in [0, 1).
 */
export function backoffDelay(failures: number, random: number, settings: BackoffSettings = DEFAULT_BACKOFF): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const step = Math.min(settings.capMs, settings.baseMs * 2 ** exponent);
  const draw = Math.min(Math.max(random, 0), 1);
  return Math.round(step / 2 + (step / 2) * draw);
}

/** What the daemon does next, and how long it waits before. */
export interface NextStep {
  /** ms from now; 0 means at once */
  waitMs: number;
  /** `expire`: the SVID runs out by then, so the daemon cannot renew any more and stops */
  then: 'renew' | 'expire';
}

export interface ScheduleInput {
  now: number;
  validity: Validity;
  /** failed renewals in a row since the last success */
  failures: number;
  /** [0, 1) */
  random: number;
  /** the server's `Retry-After`, in seconds, for the last failure */
  retryAfterSeconds?: number;
  backoff?: BackoffSettings;
}

/**
 * The next renewal attempt: at half-life when the last one succeeded;
 * after a jittered backoff (at least `Retry-After`) when it failed. Never
 * later than the SVID's expiry: an attempt past it could only be refused,
 * so the wait ends there and `then: 'expire'` tells the daemon to stop.
 */
export function nextStep(input: ScheduleInput): NextStep {
  const { now, validity } = input;
  if (now >= validity.notAfter) return { waitMs: 0, then: 'expire' };
  let at: number;
  if (input.failures === 0) {
    at = renewalTime(validity);
  } else {
    const backoff = backoffDelay(input.failures, input.random, input.backoff);
    const serverAsked = (input.retryAfterSeconds ?? 0) * 1000;
    at = now + Math.max(backoff, serverAsked);
  }
  if (at >= validity.notAfter) return { waitMs: validity.notAfter - now, then: 'expire' };
  return { waitMs: Math.max(0, at - now), then: 'renew' };
}
