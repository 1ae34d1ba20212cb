import fc from 'fast-check';
import { backoffDelay, DEFAULT_BACKOFF, nextStep, renewalTime } from './renewal-schedule';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MINUTE = 60_000;
/** a 1-hour SVID backdated one minute, as attestd issues them */
const validity = { notBefore: T0 - MINUTE, notAfter: T0 + 60 * MINUTE };

describe('renewal schedule', () => {
  it('renews half-way through the validity', () => {
    expect(renewalTime(validity)).toBe(T0 + 29.5 * MINUTE);
    expect(nextStep({ now: T0, validity, failures: 0, random: 0.5 })).toEqual({ waitMs: 29.5 * MINUTE, then: 'renew' });
  });

  it('renews at once when the half-life has passed already (an agent started late)', () => {
    expect(nextStep({ now: T0 + 45 * MINUTE, validity, failures: 0, random: 0.5 })).toEqual({
      waitMs: 0,
      then: 'renew',
    });
  });

  it('backs off 1 s, 2 s, 4 s ... up to 60 s, each between half the step and the step', () => {
    const lowest = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, 0));
    const highest = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, 0.999_999));
    expect(lowest).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(highest).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('keeps every backoff within [step/2, step] and never above the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (failures, random) => {
          const delay = backoffDelay(failures, random);
          const step = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** Math.min(failures - 1, 30));
          return delay >= step / 2 && delay <= step && delay <= DEFAULT_BACKOFF.capMs;
        },
      ),
    );
  });

  it('waits at least as long as the server asked with Retry-After', () => {
    expect(nextStep({ now: T0, validity, failures: 1, random: 0, retryAfterSeconds: 30 })).toEqual({
      waitMs: 30_000,
      then: 'renew',
    });
    expect(nextStep({ now: T0, validity, failures: 1, random: 0, retryAfterSeconds: 0 })).toEqual({
      waitMs: 500,
      then: 'renew',
    });
  });

  it('stops at expiry instead of retrying past it', () => {
    const late = validity.notAfter - 10_000;
    expect(nextStep({ now: late, validity, failures: 9, random: 0.5 })).toEqual({ waitMs: 10_000, then: 'expire' });
    expect(nextStep({ now: validity.notAfter, validity, failures: 0, random: 0.5 })).toEqual({
      waitMs: 0,
      then: 'expire',
    });
  });

  it('never waits past expiry nor a negative time, whatever the inputs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2 * 60 * MINUTE, max: 2 * 60 * MINUTE }),
        fc.nat(100),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.nat(100_000), { nil: undefined }),
        (offset, failures, random, retryAfterSeconds) => {
          const now = T0 + offset;
          const step = nextStep({
            now,
            validity,
            failures,
            random,
            ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
          });
          return (
            step.waitMs >= 0 &&
            now + step.waitMs <= Math.max(now, validity.notAfter) &&
            (step.then === 'expire' || now + step.waitMs < validity.notAfter)
          );
        },
      ),
    );
  });
});
