/**
 * Group commit. Most of a write's database cost is its transaction (the
 * commit's WAL flush, the statement's fixed work), not its rows: written 32
 * at a time, a login costs PostgreSQL about a third of the CPU and the
 * write rate triples. So writes that arrive while one is in flight wait for
 * at most `maxWaitMs`, or until `maxItems` wait, and go in one statement
 * that decides each on its own. A lone write, with nothing in flight, goes
 * at once: no added latency when the server is quiet.
 */
export interface GroupCommitOptions {
  maxWaitMs: number;
  maxItems: number;
}

export interface GroupWrites<T, R> {
  /** the statement for one item: its answer, or its error, is the item's own */
  one(item: T): Promise<R>;
  /** the statement for several, answering for each in order; throws if it was rolled back */
  many(items: T[]): Promise<R[]>;
  /**
   * What an item uses up or claims (a nonce, a key, a row): a statement
   * decides each item against what was committed before it and cannot see
   * its own rows, so items sharing a claim go in separate statements, where
   * the database orders them.
   */
  claims(item: T): string[];
}

interface Waiting<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class GroupCommit<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly writes: GroupWrites<T, R>,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Writes the item, alone or with others, and answers for it alone. */
  write(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.inFlight === 0 || this.waiting.length >= this.options.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const { batch, rest } = this.apart(this.waiting);
    this.waiting = rest;
    if (batch.length === 0) return;
    this.inFlight++;
    void this.run(batch).finally(() => {
      this.inFlight--;
      // what gathered meanwhile goes now: its wait was the write just done
      if (this.waiting.length > 0) this.flush();
    });
    // items kept apart from this batch go in the next, without waiting for it
    if (this.waiting.length > 0) this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  private async run(batch: Waiting<T, R>[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const results = await this.writes.many(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i]!));
        return;
      } catch {
        // One of the items raced another transaction (another replica, or a
        // batch in flight here) and the statement was rolled back whole, or
        // one item broke it: each is written again alone, with the rounds
        // and the errors a lone write has, so it cannot fail the others.
      }
    }
    await Promise.all(batch.map((w) => this.writes.one(w.item).then(w.resolve, w.reject)));
  }

  /** Up to `maxItems` of the waiting, in arrival order, no two sharing a claim; the others wait for the next batch. */
  private apart(waiting: Waiting<T, R>[]): { batch: Waiting<T, R>[]; rest: Waiting<T, R>[] } {
    const claimed = new Set<string>();
    const batch: Waiting<T, R>[] = [];
    const rest: Waiting<T, R>[] = [];
    for (const w of waiting) {
      const claims = this.writes.claims(w.item);
      if (batch.length < this.options.maxItems && !claims.some((c) => claimed.has(c))) {
        claims.forEach((c) => claimed.add(c));
        batch.push(w);
      } else {
        rest.push(w);
      }
    }
    return { batch, rest };
  }
}
