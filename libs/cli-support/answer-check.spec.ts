import {
  completeLoginResponseSchema,
  jwtSvidResponseSchema,
  startLoginResponseSchema,
} from '@libs/contracts/agent-api';
import { answerChecker } from './answer-check';

const complete = { agentId: 'a', spiffeId: 's', svid: { certChain: 'c', expiresAt: 'e' }, bundle: 'b' };

describe("answer checks against the contracts' response schemas", () => {
  const checkComplete = answerChecker(completeLoginResponseSchema);
  const checkStart = answerChecker(startLoginResponseSchema);

  it('passes a conforming answer through, fields added later or not', () => {
    expect(checkComplete(complete)).toEqual({ value: complete });
    const later = {
      ...complete,
      policy: 'p',
      selectors: ['x'],
      attributes: { 'a.b': ['1'] },
      reattestable: true,
      newer: 1,
    };
    expect(checkComplete(later)).toEqual({ value: later });
  });

  it.each([
    ['a missing nested field', { ...complete, svid: { expiresAt: 'e' } }, 'lacks svid.certChain'],
    ['an empty field the agent relies on', { ...complete, bundle: '' }, 'lacks bundle'],
    ['a field of the wrong type', { ...complete, spiffeId: 7 }, 'lacks spiffeId'],
    ['a malformed optional field', { ...complete, attributes: { a: 'not a list' } }, 'has malformed attributes'],
    ['an array', [complete], 'is not a JSON object'],
    ['null', null, 'is not a JSON object'],
  ])('names %s', (_case, answer, problem) => {
    expect(checkComplete(answer)).toEqual({ problem });
  });

  it('names an array field, not the item, when an item is wrong', () => {
    expect(checkStart({ loginId: 'l', expiresAt: 'e', requiredAttestors: ['a', 3] })).toEqual({
      problem: 'lacks requiredAttestors',
    });
    expect(checkStart({ loginId: 'l', expiresAt: 'e', requiredAttestors: [], challenges: { a: 1 } })).toEqual({
      problem: 'has malformed challenges',
    });
  });

  it('checks the jwt-svid answer', () => {
    expect(answerChecker(jwtSvidResponseSchema)({ token: 't' })).toEqual({ problem: 'lacks expiresAt' });
  });
});
