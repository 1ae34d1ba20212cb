import { DependencyUnavailable, ProofRejected, type Attestor } from '@libs/attestors/attestor';
import { AttestorRegistry } from '@libs/attestors/registry';
import { compileAgentAttestation } from '@libs/policy';
import { canReattest, decide } from './policy-decision';

/** A configurable fake: its verdict per node name, and a count of verifications. */
function fakeAttestor(
  type: string,
  verdicts: Record<string, 'ok' | 'reject' | 'down'>,
  calls: { n: number },
): Attestor<{ node: string }, { tier?: string }> {
  return {
    type,
    attributes: ['node', 'tier'],
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
    async verify(proof, config) {
      calls.n++;
      const verdict = verdicts[proof.node] ?? 'ok';
      if (verdict === 'reject') throw new ProofRejected(`${type}: node ${proof.node} is not known`);
      if (verdict === 'down')
        throw new DependencyUnavailable('aws: sts:AssumeRole denied for arn:aws:iam::222222222222:role/attestd-reader');
      return { attributes: { node: [proof.node], tier: config.tier ? [config.tier] : [] }, selectors: [] };
    },
  };
}

describe('decide', () => {
  const calls = { n: 0 };
  const registry = new AttestorRegistry([
    fakeAttestor('alpha', { rejected: 'reject', down: 'down' }, calls),
    fakeAttestor('beta', { other: 'reject' }, calls),
  ]);
  const policies = compileAgentAttestation(
    {
      policies: [
        {
          name: 'gold',
          requiredAttestors: [
            { type: 'alpha', config: { tier: 'gold' } },
            { type: 'beta', config: {} },
          ],
          rules: [{ attribute: 'alpha.node', equalsAttribute: 'beta.node' }],
        },
        {
          name: 'silver',
          requiredAttestors: [{ type: 'alpha', config: { tier: 'silver' } }],
          rules: [{ attribute: 'alpha.node', glob: 'web-*' }],
        },
        { name: 'bronze', requiredAttestors: [{ type: 'alpha', config: { tier: 'silver' } }] },
      ],
    } as never,
    registry.descriptors(),
  );
  const run = (proofs: Record<string, unknown>, methods = Object.keys(proofs)) =>
    decide(policies.candidatesFor(methods), proofs, registry, { challenges: {}, now: new Date() });

  beforeEach(() => {
    calls.n = 0;
  });

  describe('what the agent is told and what the audit log keeps', () => {
    it('a rule denial: the agent learns the policy, not the rule or its operands', async () => {
      const webOnly = compileAgentAttestation(
        {
          policies: [
            {
              name: 'silver',
              requiredAttestors: [{ type: 'alpha' }],
              rules: [{ attribute: 'alpha.node', glob: 'web-*' }],
            },
          ],
        } as never,
        registry.descriptors(),
      );
      const decision = await decide(webOnly.candidatesFor(['alpha']), { alpha: { node: 'db-1' } }, registry, {
        challenges: {},
        now: new Date(),
      });
      expect(decision).toMatchObject({
        kind: 'policy_denied',
        policy: 'silver',
        agentReason: 'policy silver: rules do not hold',
      });
      expect(decision.kind === 'policy_denied' && decision.reason).toBe(
        'policy silver: rule 1 (alpha.node glob "web-*") does not hold',
      );
    });

    it("an unavailable cloud: the agent learns which attestor, not the cloud's error with the server's role ARN", async () => {
      const decision = await run({ alpha: { node: 'down' } });
      expect(decision).toMatchObject({
        kind: 'unavailable',
        agentReason: 'alpha: a service it depends on is unavailable; retry later',
      });
      expect(decision.kind === 'unavailable' && decision.reason).toContain(
        'arn:aws:iam::222222222222:role/attestd-reader',
      );
    });

    it("a rejected proof: the attestor's agent reason, the full reason for the audit", async () => {
      const decision = await run({ alpha: { node: 'rejected' } });
      expect(decision).toMatchObject({
        kind: 'attestation_failed',
        reason: 'alpha: node rejected is not known',
        agentReason: 'alpha: node rejected is not known',
      });
    });
  });

  it('authorizes the first policy in document order whose proofs verify and rules hold', async () => {
    const decision = await run({ alpha: { node: 'web-1' }, beta: { node: 'web-1' } });
    expect(decision).toMatchObject({
      kind: 'authorized',
      policy: { name: 'gold' },
      attributes: { 'alpha.node': ['web-1'], 'alpha.tier': ['gold'], 'beta.node': ['web-1'] },
    });
  });

  it('verifies each attestor once per distinct config', async () => {
    await run({ alpha: { node: 'web-1' }, beta: { node: 'web-1' } });
    expect(calls.n).toBe(3); // alpha/gold, beta, alpha/silver (shared by silver and bronze)
  });

  it("falls through to a later policy when an earlier one's binding rule fails", async () => {
    const decision = await run({ alpha: { node: 'web-1' }, beta: { node: 'db-9' } });
    expect(decision).toMatchObject({ kind: 'authorized', policy: { name: 'silver' } });
  });

  it("denies with the failed rule when every proof verified but no policy's rules hold", async () => {
    const decision = await run({ alpha: { node: 'db-1' } });
    expect(decision).toMatchObject({ kind: 'authorized', policy: { name: 'bronze' } });
    const strict = compileAgentAttestation(
      {
        policies: [
          {
            name: 'only-web',
            requiredAttestors: [{ type: 'alpha' }],
            rules: [{ attribute: 'alpha.node', glob: 'web-*' }],
          },
        ],
      } as never,
      registry.descriptors(),
    );
    const denied = await decide(strict.candidatesFor(['alpha']), { alpha: { node: 'db-1' } }, registry, {
      challenges: {},
      now: new Date(),
    });
    expect(denied).toMatchObject({
      kind: 'policy_denied',
      policy: 'only-web',
      reason: expect.stringContaining('alpha.node'),
    });
  });

  it('reports the attestor and its reason when a proof does not verify', async () => {
    expect(await run({ alpha: { node: 'rejected' } })).toEqual({
      kind: 'attestation_failed',
      attestor: 'alpha',
      reason: 'alpha: node rejected is not known',
      agentReason: 'alpha: node rejected is not known',
    });
  });

  it('fails closed when an earlier policy cannot be decided because a dependency is down', async () => {
    expect(await run({ alpha: { node: 'down' }, beta: { node: 'down' } })).toMatchObject({
      kind: 'unavailable',
      attestor: 'alpha',
    });
  });

  describe('at 1,000 policies', () => {
    /** a config that counts how often it is serialized (JSON.stringify calls toJSON) */
    const countedConfig = (tier: string, serialized: { n: number }) => ({
      tier,
      toJSON() {
        serialized.n++;
        return { tier };
      },
    });
    const serialized = { n: 0 };
    const configs = [countedConfig('gold', serialized), countedConfig('silver', serialized)];
    const many = compileAgentAttestation(
      {
        policies: Array.from({ length: 1000 }, (_, i) => ({
          name: `p${i}`,
          requiredAttestors: [{ type: 'alpha', config: configs[i % 2] }, ...(i % 3 === 0 ? [{ type: 'beta' }] : [])],
          rules: [{ attribute: 'alpha.node', equals: i === 999 ? 'web-1' : `other-${i}` }],
        })),
      } as never,
      registry.descriptors(),
    );

    it('verifies each distinct config once and serializes no config per login', async () => {
      serialized.n = 0;
      for (let login = 0; login < 20; login++) {
        const decision = await decide(
          many.candidatesFor(['alpha', 'beta']),
          { alpha: { node: 'web-1' }, beta: { node: 'web-1' } },
          registry,
          { challenges: {}, now: new Date() },
        );
        expect(decision).toMatchObject({ kind: 'authorized', policy: { name: 'p999' } });
      }
      // alpha under two configs and beta under one: three verifications a login
      expect(calls.n).toBe(20 * 3);
      expect(serialized.n).toBe(0);
    });
  });
});

describe('canReattest', () => {
  const tofuProof = { tofuKey: 'aws_iid/111111111111/us-east-1/i-1' };
  const plainProof = {};
  const joinToken = { tofuKey: 'join_token/t', consume: { joinTokenId: 't' } };

  it('lets an agent whose proofs are neither node-unique nor single use log in again (aws_iam)', () => {
    expect(canReattest({ tofu: true }, [plainProof])).toBe(true);
  });

  it('lets a node-unique proof log in again only when the policy turns TOFU off', () => {
    expect(canReattest({ tofu: true }, [tofuProof])).toBe(false);
    expect(canReattest({ tofu: false }, [tofuProof])).toBe(true);
    expect(canReattest({ tofu: true }, [plainProof, tofuProof])).toBe(false);
  });

  it('never lets a single-use proof (a join token) log in again, whatever the policy', () => {
    expect(canReattest({ tofu: false }, [joinToken])).toBe(false);
    expect(canReattest({ tofu: false }, [plainProof, joinToken])).toBe(false);
  });
});
