import { newSecretToken } from './secret-token';

describe('newSecretToken', () => {
  it('is 43 base64url characters that never begin with "-", so a command line cannot read it as an option', () => {
    // one plain base64url draw in 64 begins with '-': 10,000 draws without one happen by chance with probability e^-156
    const tokens = Array.from({ length: 10_000 }, newSecretToken);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});
