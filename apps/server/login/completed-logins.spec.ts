import { CompletedLogins } from './completed-logins';

describe('CompletedLogins', () => {
  const login = (nonce: string, expiresAt: Date) => ({ nonce, providedMethods: ['join_token'], challenges: {}, expiresAt });

  it('claims a login ID once, and forgets it when it expires', async () => {
    const completed = new CompletedLogins();
    const now = new Date();
    expect(completed.claim(login('a', new Date(now.getTime() + 50)), now)).toBe(true);
    expect(completed.claim(login('a', new Date(now.getTime() + 50)), now)).toBe(false);
    expect(completed.claim(login('b', new Date(now.getTime() + 50)), now)).toBe(true);
    await new Promise((done) => setTimeout(done, 80));
    // expired: the login ID itself is refused as expired before it gets here; the memory is freed
    expect(completed.claim(login('a', new Date(Date.now() + 50)), new Date())).toBe(true);
  });
});
