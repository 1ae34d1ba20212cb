/** A partial batch is sent once no look-up has joined it for this long (a lone login waits only this)... */
export const IDLE_GAP_MS = 5;
/** ...or once its oldest look-up has waited this long... */
export const MAX_LINGER_MS = 50;
/** ...or at once when it holds this many ids (EC2 takes up to 1,000 ids; smaller answers stay small and fast). */
export const MAX_BATCH = 100;
/** Full batches may overlap up to this many calls per account and region; partial ones wait for the calls in flight... */
export const MAX_IN_FLIGHT = 4;
/**
 * ...and go at most this often per account and region. A burst of logins
 * arrives spread over its verification time (PKCS#7, CSR, signing: about 2 s
 * for 200 through the HTTP API here), so this, not the batch size, decides
 * what a burst costs. A login in a quiet account does not wait for it; one in
 * a busy account waits at most the current spacing (below) more.
 */
export const MIN_INTERVAL_MS = 400;
/**
 * While partial calls follow each other back to back (a long burst, or a
 * slowed server that spreads one burst over seconds), the spacing grows by
 * this factor up to MAX_INTERVAL_MS, so a burst costs about the logarithm of
 * its duration in calls rather than one call per 400 ms; it drops back to
 * MIN_INTERVAL_MS once the account has been quiet for twice the spacing.
 */
export const INTERVAL_GROWTH = 1.5;
export const MAX_INTERVAL_MS = 2000;

/** One call for many ids; ids missing from the map are answered `null`. */
export type DescribeMany<T> = (ids: string[]) => Promise<Map<string, T>>;

interface Waiting<T> {
  resolve(value: T | null): void;
  reject(error: unknown): void;
}

export interface BatcherClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_CLOCK: BatcherClock = {
  now: Date.now,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Gathers the DescribeInstances look-ups of one account and region into
 * shared calls, the way Nagle's algorithm gathers bytes. A batch stays open
 * while look-ups keep arriving (a 5 ms idle gap, at most 50 ms), and while a
 * call is in flight the look-ups arriving meanwhile wait and form the next
 * call, and partial calls are spaced 400 ms apart, further while they keep
 * coming. So a burst costs about one call per 100 ids plus a few calls that
 * grow with the logarithm of its duration, whatever the arrival pattern: an
 * autoscaling group of 200 coming up costs a handful of calls, and stays far
 * below EC2's request-rate limits instead of being throttled into 503s.
 * A lone look-up waits only the idle gap.
 *
 * A failed call fails every look-up in it (the caller maps it to 503); the
 * per-id "not found" case is the `describe` function's job, as EC2 fails a
 * whole call for one unknown id.
 */
export class Batcher<T> {
  private readonly pending = new Map<string, Waiting<T>[]>();
  private timer: unknown;
  private openedAt = 0;
  private inFlight = 0;
  private lastSentAt = -Infinity;
  private interval = MIN_INTERVAL_MS;

  constructor(
    private readonly describe: DescribeMany<T>,
    private readonly clock: BatcherClock = REAL_CLOCK,
  ) {}

  /** The instance with this id, or null when the call did not return it; rejects when the call failed. */
  lookup(id: string): Promise<T | null> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.openedAt = this.clock.now();
      const waiting = this.pending.get(id);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(id, [{ resolve, reject }]);
      this.schedule();
    });
  }

  /** Look-ups waiting for a call, and calls in flight (tests, diagnostics). */
  get load(): { waiting: number; inFlight: number } {
    return { waiting: this.pending.size, inFlight: this.inFlight };
  }

  private schedule(): void {
    while (this.pending.size >= MAX_BATCH && this.inFlight < MAX_IN_FLIGHT) this.send();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0 || this.inFlight > 0) return; // the call in flight schedules the rest when it returns
    const now = this.clock.now();
    const lingered = now - this.openedAt;
    const spacing = Math.max(0, this.lastSentAt + this.interval - now);
    if (lingered >= MAX_LINGER_MS && spacing === 0) return this.send();
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        if (this.inFlight === 0 && this.pending.size > 0) this.send();
      },
      Math.max(spacing, Math.min(IDLE_GAP_MS, MAX_LINGER_MS - lingered)),
    );
  }

  private send(): void {
    const batch = new Map<string, Waiting<T>[]>();
    for (const [id, waiting] of this.pending) {
      if (batch.size === MAX_BATCH) break;
      batch.set(id, waiting);
    }
    // Those left keep their `openedAt`: they have waited already, and go as soon as nothing is in flight.
    for (const id of batch.keys()) this.pending.delete(id);
    this.inFlight++;
    const now = this.clock.now();
    const busy = now - this.lastSentAt <= 2 * this.interval;
    this.interval = busy ? Math.min(this.interval * INTERVAL_GROWTH, MAX_INTERVAL_MS) : MIN_INTERVAL_MS;
    this.lastSentAt = now;
    let call: Promise<Map<string, T>>;
    try {
      call = this.describe([...batch.keys()]);
    } catch (error) {
      call = Promise.reject(error);
    }
    call
      .then(
        (found) => {
          for (const [id, waiting] of batch) for (const w of waiting) w.resolve(found.get(id) ?? null);
        },
        (error: unknown) => {
          for (const waiting of batch.values()) for (const w of waiting) w.reject(error);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      })
      .catch(() => undefined);
  }
}
