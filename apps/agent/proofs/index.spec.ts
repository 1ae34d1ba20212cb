import { CollectorSettingsError } from './collector';
import { COLLECTORS, collectorNames, createCollector, isKnownAttestor } from './index';

describe('proof collector registry', () => {
  it('lists the attestors it can collect for', () => {
    expect(collectorNames()).toEqual(['aws_iam', 'aws_iid', 'azure_msi', 'join_token', 'k8s_psat']);
    expect(isKnownAttestor('join_token')).toBe(true);
  });

  it('does not treat Object.prototype members as attestors', () => {
    expect(isKnownAttestor('constructor')).toBe(false);
    expect(isKnownAttestor('__proto__')).toBe(false);
  });

  it('rejects an unknown attestor name with the known ones', () => {
    expect(() => createCollector('azure_msix', {})).toThrow(CollectorSettingsError);
    expect(() => createCollector('azure_msix', {})).toThrow(
      'unknown attestor "azure_msix" (known: aws_iam, aws_iid, azure_msi, join_token, k8s_psat)',
    );
  });

  it('builds collectors whose type is the name they are registered under', () => {
    const settings = { joinToken: 't', awsRegion: 'us-east-1', k8sCluster: 'web' };
    for (const name of Object.keys(COLLECTORS)) expect(createCollector(name, settings).type).toBe(name);
  });
});

describe('join_token collector', () => {
  it('returns the token as the proof', async () => {
    const collector = createCollector('join_token', { joinToken: 'secret-1' });
    await expect(collector.collect({})).resolves.toEqual({ token: 'secret-1' });
  });

  it('ignores a challenge', async () => {
    const collector = createCollector('join_token', { joinToken: 'secret-1' });
    await expect(collector.collect({ challenge: 'nonce' })).resolves.toEqual({ token: 'secret-1' });
  });

  it('refuses to be built without a token, without echoing anything secret', () => {
    expect(() => createCollector('join_token', {})).toThrow('join_token: no token given');
    expect(() => createCollector('join_token', { joinToken: '' })).toThrow('join_token: no token given');
  });
});
