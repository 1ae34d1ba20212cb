import { CompletedLogins } from './completed-logins';

describe('CompletedLogins', () => {
  const login = (nonce: string, expiresAt: Date) => ({
    nonce,
    providedMethods: ['join_token'],
    challenges: {},
    expiresAt,
  });

  it('claims a login ID once, and forgets it when it expires', () => {
    // the cache counts time on its own clock: a manual one, so a descheduled test process cannot expire an entry early
    let elapsed = 1_000;
    const completed = new CompletedLogins({ now: () => elapsed });
    const now = new Date();
    expect(completed.claim(login('a', new Date(now.getTime() + 50)), now)).toBe(true);
    expect(completed.claim(login('a', new Date(now.getTime() + 50)), now)).toBe(false);
    expect(completed.claim(login('b', new Date(now.getTime() + 50)), now)).toBe(true);
    elapsed += 50;
    expect(completed.claim(login('a', new Date(now.getTime() + 100)), now)).toBe(false);
    elapsed += 1;
    // expired: the login ID itself is refused as expired before it gets here; the memory is freed
    expect(completed.claim(login('a', new Date(now.getTime() + 100)), now)).toBe(true);
  });
});
