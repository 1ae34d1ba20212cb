import type { Attributes } from '@libs/attestors/attestor';
import { candidateIndex } from './candidate-index';
import type { CompiledPolicy } from './compile-policy';

/** A policy that counts how often its required types are read. */
function policy(name: string, types: string[], reads: { n: number }): CompiledPolicy {
  return {
    name,
    requiredAttestors: types.map((type) => ({ type, config: {}, verificationKey: `${type}#0` })),
    get requiredTypes() {
      reads.n++;
      return types;
    },
    svidTtlSeconds: 3600,
    tofu: true,
    evaluate: (_attributes: Attributes) => ({ holds: true }),
    renderSpiffeIdPath: () => ({ ok: true, path: `/${name}` }),
  };
}

describe('candidateIndex', () => {
  const sets = [['aws_iid'], ['k8s_psat', 'aws_iid'], ['join_token'], ['aws_iam'], ['aws_iid', 'join_token']];
  const reads = { n: 0 };
  const policies = Array.from({ length: 1000 }, (_, i) => policy(`p${i}`, sets[i % sets.length]!, reads));
  const candidatesFor = candidateIndex(policies);
  const byScan = (provided: string[]) =>
    policies.filter((p) => sets[Number(p.name.slice(1)) % sets.length]!.every((t) => provided.includes(t)));

  it('answers what reading every policy would, in document order', () => {
    for (const provided of [
      ['aws_iid'],
      ['aws_iid', 'k8s_psat'],
      ['join_token', 'aws_iid'],
      ['aws_iam', 'gcp_iit'],
      [],
      ['k8s_psat'],
    ]) {
      expect(candidatesFor(provided).map((p) => p.name)).toEqual(byScan(provided).map((p) => p.name));
    }
  });

  it('reads the policies once, when the version is indexed, not per login', () => {
    reads.n = 0;
    for (let login = 0; login < 1000; login++)
      candidatesFor(login % 2 ? ['aws_iid', 'k8s_psat'] : ['join_token', 'aws_iid', 'unknown']);
    expect(reads.n).toBe(0);
  });

  it('shares one frozen answer per set of relevant provided types, whatever their order, duplicates or unknown types', () => {
    const answer = candidatesFor(['aws_iid', 'join_token']);
    expect(candidatesFor(['join_token', 'aws_iid', 'aws_iid', 'gcp_iit'])).toBe(answer);
    expect(Object.isFrozen(answer)).toBe(true);
  });
});
