import { DependencyUnavailable, ProofRejected, type Attestor } from '@libs/attestors/attestor';
import { AttestorRegistry } from '@libs/attestors/registry';
import { compileAgentAttestation } from '@libs/policy';
import { decide } from './policy-decision';

/** Verdict by node name: `ok`, `reject` (ProofRejected) or `down` (DependencyUnavailable). */
function attestor(type: string): Attestor<{ node: string }, { tier?: string }> {
  return {
    type,
    attributes: ['node'],
    singleValued: ['node'],
    nodeUnique: ['node'],
    callerChosen: [],
    configSchema: { type: 'object', additionalProperties: false, properties: { tier: { type: 'string' } } },
    proofSchema: {
      type: 'object',
      required: ['node'],
      additionalProperties: false,
      properties: { node: { type: 'string' } },
    },
    defaultSpiffeIdPath: `/agent/${type}/{{${type}.node}}`,
    bindsChallenge: false,
    async verify(proof) {
      if (proof.node === 'reject') throw new ProofRejected(`${type}: no`);
      if (proof.node === 'down') throw new DependencyUnavailable('cloud API unreachable');
      return { attributes: { node: [proof.node] }, selectors: [] };
    },
  };
}

describe('decide reports each verification to its observer', () => {
  const registry = new AttestorRegistry([attestor('alpha'), attestor('beta')]);
  const policies = compileAgentAttestation(
    {
      policies: [
        { name: 'both', requiredAttestors: [{ type: 'alpha', config: { tier: 'gold' } }, { type: 'beta' }] },
        { name: 'alpha_only', requiredAttestors: [{ type: 'alpha' }] },
      ],
    } as never,
    registry.descriptors(),
  );
  const run = async (proofs: Record<string, { node: string }>) => {
    const seen: string[] = [];
    const decision = await decide(policies.candidatesFor(Object.keys(proofs)), proofs, registry, {
      challenges: {},
      now: new Date(),
      onProof: (type, outcome) => void seen.push(`${type}:${outcome}`),
    });
    return { kind: decision.kind, seen: seen.sort() };
  };

  it('reports a success per verification, once per distinct attestor config', async () => {
    expect(await run({ alpha: { node: 'a' }, beta: { node: 'b' } })).toEqual({
      kind: 'authorized',
      seen: ['alpha:success', 'alpha:success', 'beta:success'],
    });
  });

  it('reports a rejected proof as failed', async () => {
    expect(await run({ alpha: { node: 'a' }, beta: { node: 'reject' } })).toEqual({
      kind: 'authorized',
      seen: ['alpha:success', 'alpha:success', 'beta:failed'],
    });
  });

  it('reports nothing for a verification that reached no verdict', async () => {
    expect(await run({ alpha: { node: 'down' } })).toEqual({ kind: 'unavailable', seen: [] });
  });

  it('works without an observer', async () => {
    const decision = await decide(policies.candidatesFor(['alpha']), { alpha: { node: 'a' } }, registry, {
      challenges: {},
      now: new Date(),
    });
    expect(decision.kind).toBe('authorized');
  });
});
