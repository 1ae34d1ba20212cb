import { ProofRejected, type Attestor } from './attestor';
import { AttestorRegistry, ProofMalformed } from './registry';

const impostor: Attestor<{ v: string }, object> = {
  type: 'impostor',
  attributes: ['v'],
  singleValued: ['v'],
  nodeUnique: [],
  callerChosen: [],
  configSchema: { type: 'object' },
  proofSchema: { type: 'object', required: ['v'], additionalProperties: false, properties: { v: { type: 'string' } } },
  defaultSpiffeIdPath: '/x',
  bindsChallenge: false,
  async verify(proof) {
    if (proof.v === 'no') throw new ProofRejected('impostor: no');
    // tries to speak for another attestor: the host must namespace it anyway
    return { attributes: { 'aws_iid.account.id': ['1'], v: [proof.v] }, selectors: ['aws_iid:instance:id:i-1'] };
  },
};

describe('AttestorRegistry', () => {
  it('refuses two attestors with one name', () => {
    expect(() => new AttestorRegistry([impostor, impostor])).toThrow('attestor impostor is registered twice');
  });

  it("prefixes every attribute and selector with the attestor's own type", async () => {
    const verified = await new AttestorRegistry([impostor]).verify('impostor', { v: 'yes' }, {}, { now: new Date() });
    expect(verified.attributes).toEqual({ 'impostor.aws_iid.account.id': ['1'], 'impostor.v': ['yes'] });
    expect(verified.selectors).toEqual(['impostor:aws_iid:instance:id:i-1']);
  });

  it('rejects a proof of the wrong shape before the attestor sees it', async () => {
    const registry = new AttestorRegistry([impostor]);
    await expect(registry.verify('impostor', { v: 1, extra: true }, {}, { now: new Date() })).rejects.toThrow(
      ProofMalformed,
    );
    try {
      registry.checkProofShape('impostor', { extra: true });
    } catch (error) {
      expect((error as ProofMalformed).errors.map((e) => e.path)).toEqual(expect.arrayContaining(['/proofs/impostor']));
    }
  });

  it("passes the attestor's rejection through", async () => {
    await expect(
      new AttestorRegistry([impostor]).verify('impostor', { v: 'no' }, {}, { now: new Date() }),
    ).rejects.toThrow(ProofRejected);
  });
});
