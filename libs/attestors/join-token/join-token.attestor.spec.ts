import { rejectionReason } from '../testing/rejection';
import { hashJoinToken, joinTokenAttestor } from './join-token.attestor';

describe('join_token attestor', () => {
  const now = new Date('2026-11-22T10:00:00Z');
  const stored = new Map([[hashJoinToken('good-token'), { id: '7f1c3a52-0000-4000-8000-000000000001' }]]);
  const attestor = joinTokenAttestor({ findUsable: async (hash) => stored.get(hash) ?? null });

  it('yields the token id, a selector, a TOFU key and the token to consume', async () => {
    await expect(attestor.verify({ token: 'good-token' }, {}, { now })).resolves.toEqual({
      attributes: { id: ['7f1c3a52-0000-4000-8000-000000000001'] },
      selectors: ['id:7f1c3a52-0000-4000-8000-000000000001'],
      tofuKey: 'join_token/7f1c3a52-0000-4000-8000-000000000001',
      consume: { joinTokenId: '7f1c3a52-0000-4000-8000-000000000001' },
    });
  });

  it('rejects an unknown, expired or used token with one message that does not echo it', async () => {
    expect(await rejectionReason(attestor.verify({ token: 'wrong-token' }, {}, { now }))).toBe(
      'join_token: token is unknown, expired or already used',
    );
  });

  it('looks tokens up by SHA-256, never by the secret', () => {
    expect(hashJoinToken('good-token')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashJoinToken('good-token')).not.toContain('good-token');
  });
});
