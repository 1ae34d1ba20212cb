import { builtInDescriptors } from '@libs/attestors/catalog';
import type { PolicySpec } from '@libs/policy';
import { ActiveConfig, type ActiveSection } from './active-config';

function version(version: number, policies: PolicySpec[]): ActiveSection {
  return {
    section: 'AgentAttestation',
    version,
    sha256: String(version),
    document: { section: 'AgentAttestation', schema: 'v1', spec: { policies } },
  };
}

/** policies of 10 rules, each with its own regex: the costliest kind to compile */
function heavy(count: number, prefix: string): PolicySpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}${i}`,
    requiredAttestors: [{ type: 'join_token' }],
    rules: Array.from({ length: 10 }, (_, r) => ({
      attribute: 'join_token.id',
      regex: `^${prefix}-${i}-${r}-[0-9a-f]{8}$`,
    })),
  }));
}

describe('ActiveConfig', () => {
  const catalog = builtInDescriptors();

  it('compiles a large version between turns of the event loop, logins keeping the previous version meanwhile', async () => {
    const active = new ActiveConfig(catalog);
    await active.activate(version(1, heavy(1, 'old')));
    let turnsWhileCompiling = 0;
    let policiesSeenMeanwhile: string[] = [];
    const activation = active.activate(version(2, heavy(300, 'new')));
    let done = false;
    void activation.finally(() => (done = true));
    const turn = (): void => {
      if (done) return;
      turnsWhileCompiling++;
      policiesSeenMeanwhile = active.policies.candidatesFor(['join_token']).map((p) => p.name);
      setImmediate(turn);
    };
    setImmediate(turn);
    expect(await activation).toBe(true);
    expect(turnsWhileCompiling).toBeGreaterThan(1);
    expect(policiesSeenMeanwhile).toEqual(['old0']);
    expect(active.policies.policies).toHaveLength(300);
    expect(active.version('AgentAttestation')).toBe(2);
  });

  it('keeps the newer version when an older one finishes compiling after it', async () => {
    const active = new ActiveConfig(catalog);
    const older = active.activate(version(2, heavy(300, 'older')));
    const newer = active.activate(version(3, heavy(1, 'newer')));
    expect(await newer).toBe(true);
    expect(await older).toBe(false);
    expect(active.version('AgentAttestation')).toBe(3);
    expect(active.policies.policies.map((p) => p.name)).toEqual(['newer0']);
  });
});
