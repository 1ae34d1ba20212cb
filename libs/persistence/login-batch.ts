import type { Database } from './database';
import { GroupCommit } from './group-commit';
import {
  MAX_LOGINS_PER_WRITE,
  recordLogin,
  recordLogins,
  type LoginRecord,
  type LoginWriteResult,
} from './login-write';

/**
 * Group commit for the login write (`group-commit.ts`): concurrent
 * completions go in one statement that decides each login on its own
 * (recordLogins); a lone login is written at once by the one-login
 * statement, which costs PostgreSQL a third less than a batch of one.
 */
export interface LoginBatchOptions {
  maxWaitMs: number;
  maxLogins: number;
}

export const DEFAULT_LOGIN_BATCH: LoginBatchOptions = { maxWaitMs: 2, maxLogins: MAX_LOGINS_PER_WRITE };

export class LoginWriteBatcher extends GroupCommit<LoginRecord, LoginWriteResult> {
  constructor(db: Pick<Database, 'runHot'>, options: LoginBatchOptions = DEFAULT_LOGIN_BATCH) {
    if (!(options.maxLogins >= 1 && options.maxLogins <= MAX_LOGINS_PER_WRITE))
      throw new Error(`login batch: maxLogins must be 1 to ${MAX_LOGINS_PER_WRITE}`);
    super(
      {
        one: (login) => recordLogin(db, login),
        many: (logins) => recordLogins(db, logins),
        claims: claimsOf,
      },
      { maxWaitMs: options.maxWaitMs, maxItems: options.maxLogins },
    );
  }
}

/** A login uses up its login ID and join token, and claims its TOFU keys and SPIFFE ID. */
function claimsOf(login: LoginRecord): string[] {
  return [
    `nonce ${login.loginNonce}`,
    `spiffe ${login.spiffeId}`,
    ...login.tofuKeys.map((k) => `key ${k}`),
    ...(login.joinTokenId ? [`token ${login.joinTokenId}`] : []),
  ];
}
