import { LRUCache, type Perf } from 'lru-cache';
import type { LoginState } from './login-id';

/**
 * Nonces this replica's entries cover: 2,000 logins/s (the target rate) for
 * a login ID's 5 minutes would be 600,000; past this bound the oldest are
 * dropped, which only costs a resubmission of those the database refusal.
 */
export const MAX_REMEMBERED_LOGINS = 250_000;

/**
 * Login IDs this replica has begun to complete, until they expire. A
 * resubmitted login ID is refused here, before its proofs are verified
 * again (an outbound STS call for `aws_iam`, cloud look-ups for others) and
 * before an audit row is written for it. The used-nonce row in the
 * database stays the truth across replicas and restarts; this filter only
 * spares the work. It is memory, not a database read, because completion
 * is the hot path (thousands a second): a read per login would cost more
 * than the resubmissions it saves.
 */
export class CompletedLogins {
  private readonly nonces: LRUCache<string, true>;

  /** `clock` counts the milliseconds an entry lives; tests pass their own. */
  constructor(clock: Perf = performance) {
    // ttlResolution 0 reads the clock at every check rather than caching it for a millisecond behind a timer
    this.nonces = new LRUCache<string, true>({ max: MAX_REMEMBERED_LOGINS, perf: clock, ttlResolution: 0 });
  }

  /** False when this login ID was already presented here; otherwise remembers it until it expires. */
  claim(login: LoginState, now: Date): boolean {
    if (this.nonces.has(login.nonce)) return false;
    const ttl = login.expiresAt.getTime() - now.getTime();
    if (ttl > 0) this.nonces.set(login.nonce, true, { ttl });
    return true;
  }
}
