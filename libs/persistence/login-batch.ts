import type { Database } from './database';
import {
  MAX_LOGINS_PER_WRITE,
  recordLogin,
  recordLogins,
  type LoginRecord,
  type LoginWriteResult,
} from './login-write';

/**
 * Group commit for the login write. Most of a login's database cost is its
 * transaction (the commit's WAL flush, the statement's fixed work), not its
 * rows: written 32 at a time, a login costs PostgreSQL about a third of the
 * CPU and the write rate triples. So completions that arrive while a write
 * is in flight wait for at most `maxWaitMs`, or until `maxLogins` wait, and
 * go in one statement that decides each on its own (recordLogins). A lone
 * login, with nothing in flight, is written at once: no added latency when
 * the server is quiet.
 */
export interface LoginBatchOptions {
  maxWaitMs: number;
  maxLogins: number;
}

export const DEFAULT_LOGIN_BATCH: LoginBatchOptions = { maxWaitMs: 2, maxLogins: MAX_LOGINS_PER_WRITE };

interface Waiting {
  login: LoginRecord;
  resolve(result: LoginWriteResult): void;
  reject(error: unknown): void;
}

export class LoginWriteBatcher {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Pick<Database, 'runHot'>,
    private readonly options: LoginBatchOptions = DEFAULT_LOGIN_BATCH,
  ) {
    if (!(options.maxLogins >= 1 && options.maxLogins <= MAX_LOGINS_PER_WRITE))
      throw new Error(`login batch: maxLogins must be 1 to ${MAX_LOGINS_PER_WRITE}`);
  }

  /** Writes the login, alone or with others, and answers for it alone. */
  write(login: LoginRecord): Promise<LoginWriteResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ login, resolve, reject });
      if (this.inFlight === 0 || this.waiting.length >= this.options.maxLogins) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const { batch, rest } = apart(this.waiting, this.options.maxLogins);
    this.waiting = rest;
    if (batch.length === 0) return;
    this.inFlight++;
    void this.run(batch).finally(() => {
      this.inFlight--;
      // what gathered meanwhile goes now: its wait was the write just done
      if (this.waiting.length > 0) this.flush();
    });
    // logins kept apart from this batch go in the next, without waiting for it
    if (this.waiting.length > 0) this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  private async run(batch: Waiting[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const results = await recordLogins(
          this.db,
          batch.map((w) => w.login),
        );
        batch.forEach((w, i) => w.resolve(results[i]!));
        return;
      } catch {
        // One of the logins raced another transaction (another replica, or a
        // batch in flight here) and the statement was rolled back whole, or
        // one login broke it: each is written again alone, with the rounds
        // and the errors a lone login has, so it cannot fail the others.
      }
    }
    await Promise.all(batch.map((w) => recordLogin(this.db, w.login).then(w.resolve, w.reject)));
  }
}

/**
 * Up to `max` of the waiting logins, in arrival order, no two sharing what
 * a login uses up or claims (login ID, TOFU key, join token, SPIFFE ID):
 * one statement decides each login against what was committed before it and
 * cannot see its own rows, so two such logins go in separate statements,
 * where the database orders them. The others wait for the next batch.
 */
function apart(waiting: Waiting[], max: number): { batch: Waiting[]; rest: Waiting[] } {
  const claimed = new Set<string>();
  const batch: Waiting[] = [];
  const rest: Waiting[] = [];
  for (const w of waiting) {
    const claims = claimsOf(w.login);
    if (batch.length < max && !claims.some((c) => claimed.has(c))) {
      claims.forEach((c) => claimed.add(c));
      batch.push(w);
    } else {
      rest.push(w);
    }
  }
  return { batch, rest };
}

function claimsOf(login: LoginRecord): string[] {
  return [
    `nonce ${login.loginNonce}`,
    `spiffe ${login.spiffeId}`,
    ...login.tofuKeys.map((k) => `key ${k}`),
    ...(login.joinTokenId ? [`token ${login.joinTokenId}`] : []),
  ];
}
