import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ApiError } from '@libs/contracts/api-error';
import { LOGIN_TTL_MS, LoginIdCodec } from './login-id';

describe('LoginIdCodec', () => {
  const codec = new LoginIdCodec(randomBytes(32));
  const now = new Date('2026-11-22T10:00:00Z');

  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      if (error instanceof ApiError) return error.code;
      throw error;
    }
    return 'accepted';
  };

  it('opens what it issued, with the methods, challenges and a 5-minute expiry', () => {
    const { loginId, state } = codec.issue(['aws_iam', 'k8s_psat'], { aws_iam: 'nonce' }, now);
    expect(codec.open(loginId, now)).toEqual(state);
    expect(state.expiresAt.getTime() - now.getTime()).toBe(LOGIN_TTL_MS);
  });

  it('gives every login its own nonce', () => {
    const a = codec.issue(['join_token'], {}, now).state.nonce;
    const b = codec.issue(['join_token'], {}, now).state.nonce;
    expect(a).not.toBe(b);
  });

  it('answers login_expired after 5 minutes', () => {
    const { loginId } = codec.issue(['join_token'], {}, now);
    expect(codeOf(() => codec.open(loginId, new Date(now.getTime() + LOGIN_TTL_MS)))).toBe('login_expired');
  });

  it('answers login_not_found for a login ID signed with another key', () => {
    const { loginId } = new LoginIdCodec(randomBytes(32)).issue(['join_token'], {}, now);
    expect(codeOf(() => codec.open(loginId, now))).toBe('login_not_found');
  });

  it('answers login_not_found when the payload was edited (methods widened)', () => {
    const { loginId } = codec.issue(['join_token'], {}, now);
    const [, mac] = loginId.split('.');
    const widened = Buffer.from(
      JSON.stringify({ v: 1, n: 'x', m: ['join_token', 'aws_iid'], c: {}, e: now.getTime() + 1000 }),
    ).toString('base64url');
    expect(codeOf(() => codec.open(`${widened}.${mac}`, now))).toBe('login_not_found');
  });

  it('answers login_not_found for any string it did not issue', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), (text) => codeOf(() => codec.open(text, now)) === 'login_not_found'),
    );
  });
});
