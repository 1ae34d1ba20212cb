import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { ApiError } from '@libs/contracts/api-error';

/** A login ID lives this long (`api.md`). */
export const LOGIN_TTL_MS = 5 * 60 * 1000;
const MAX_LOGIN_ID_LENGTH = 2048;

export interface LoginState {
  /** random; becomes a used-nonce row when the login completes (single use, any replica) */
  nonce: string;
  providedMethods: string[];
  challenges: Record<string, string>;
  expiresAt: Date;
}

interface Payload {
  v: 1;
  n: string;
  m: string[];
  c: Record<string, string>;
  e: number;
}

/**
 * Stateless, signed login IDs: `base64url(JSON).base64url(HMAC-SHA256)`,
 * with a MAC key shared by every replica through the database, so starting
 * a login writes nothing and any replica can complete it.
 */
export class LoginIdCodec {
  /** a KeyObject: `createHmac` would otherwise import the raw key on every call */
  private readonly macKey: KeyObject;

  constructor(macKey: Buffer) {
    this.macKey = createSecretKey(macKey);
  }

  issue(
    providedMethods: string[],
    challenges: Record<string, string>,
    now: Date,
  ): { loginId: string; state: LoginState } {
    const nonce = randomBytes(18).toString('base64url');
    const expiresAt = new Date(now.getTime() + LOGIN_TTL_MS);
    const payload: Payload = { v: 1, n: nonce, m: providedMethods, c: challenges, e: expiresAt.getTime() };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return {
      loginId: `${body}.${this.mac(body).toString('base64url')}`,
      state: { nonce, providedMethods, challenges, expiresAt },
    };
  }

  /** 404 `login_not_found` for anything not issued by us; 410 `login_expired` when stale. */
  open(loginId: string, now: Date): LoginState {
    // made only when thrown: an Error captures a stack trace, which the success path should not pay for
    const notFound = () => new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
    if (loginId.length > MAX_LOGIN_ID_LENGTH) throw notFound();
    const [body, mac, extra] = loginId.split('.');
    if (!body || !mac || extra !== undefined) throw notFound();
    const presented = Buffer.from(mac, 'base64url');
    const expected = this.mac(body);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw notFound();
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    if (payload.e <= now.getTime())
      throw new ApiError(
        'login_expired',
        'login ID expired (logins must complete within 5 minutes); start a new login',
      );
    return { nonce: payload.n, providedMethods: payload.m, challenges: payload.c, expiresAt: new Date(payload.e) };
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.macKey).update(body).digest();
  }
}
