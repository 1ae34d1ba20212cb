import fc from 'fast-check';
import { AUDIT_KEY, decodeCursor } from '@libs/persistence';
import { parseAuditKey } from '@libs/persistence/cursor';
import { ApiError } from '@libs/contracts/api-error';
import { pageCursor, timestamp } from './list-query';

// List query values reach SQL as bigints and timestamps: whatever is
// accepted must be in PostgreSQL's range, everything else an ApiError (400).

const INT8_MAX = 2n ** 63n - 1n;
const asCursor = (key: string) => Buffer.from(key).toString('base64url');

function accepted(read: () => unknown): boolean {
  try {
    read();
    return true;
  } catch (error) {
    if (error instanceof ApiError) return false;
    throw error;
  }
}

describe('list query values', () => {
  it('refuses a year-0 time, which PostgreSQL cannot store (found by fuzzing: a 500)', () => {
    expect(accepted(() => timestamp('since', '0000-01-01T00:00:00Z'))).toBe(false);
    expect(accepted(() => timestamp('since', '0001-01-01T00:00:00+01:00'))).toBe(false);
    expect(timestamp('since', '0001-01-01T00:00:00Z')?.toISOString()).toBe('0001-01-01T00:00:00.000Z');
  });

  it('refuses an audit cursor beyond the bigint range (found by fuzzing: a 500)', () => {
    expect(accepted(() => pageCursor(asCursor('9999999999999999999.0'), AUDIT_KEY))).toBe(false);
    expect(pageCursor(asCursor('999999999999999999.0'), AUDIT_KEY)).toBe('999999999999999999.0');
  });

  it('refuses an audit cursor whose time PostgreSQL cannot store, or that names no time', () => {
    const lastMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    expect(pageCursor(asCursor(`1.${lastMs}`), AUDIT_KEY)).toBe(`1.${lastMs}`);
    expect(accepted(() => pageCursor(asCursor(`1.${lastMs + 1}`), AUDIT_KEY))).toBe(false);
    // the id-only cursors of releases before partitioning
    expect(accepted(() => pageCursor(asCursor('12345'), AUDIT_KEY))).toBe(false);
  });

  it('accepts only audit cursors whose id fits a bigint and whose time is in years 1970 to 9999', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc
            .tuple(fc.stringMatching(/^[0-9]{1,22}$/), fc.stringMatching(/^[0-9]{1,17}$/))
            .map(([id, ms]) => `${id}.${ms}`),
          fc.string(),
          fc.string({ unit: 'binary' }),
        ),
        (key) => {
          if (decodeCursor(asCursor(key), AUDIT_KEY) === undefined) return;
          const position = parseAuditKey(key)!;
          expect(BigInt(position.id) <= INT8_MAX).toBe(true);
          expect(position.at.getUTCFullYear()).toBeLessThanOrEqual(9999);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts only times from year 1 to 9999, and answers anything else with ApiError', () => {
    const text = fc.oneof(
      fc
        .date({ min: new Date(-62198755200000), max: new Date(253402300799999), noInvalidDate: true })
        .map((d) => d.toISOString().replace(/^\+0*/, '')),
      fc
        .tuple(
          fc.stringMatching(/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$/),
          fc.constantFrom('Z', '+14:00', '-12:00', ''),
        )
        .map(([t, zone]) => `${t}${zone}`),
      fc.string(),
    );
    fc.assert(
      fc.property(text, (value) => {
        if (!accepted(() => timestamp('since', value))) return;
        const year = timestamp('since', value)!.getUTCFullYear();
        expect(year).toBeGreaterThanOrEqual(1);
        expect(year).toBeLessThanOrEqual(10_000);
      }),
      { numRuns: 500 },
    );
  });
});
