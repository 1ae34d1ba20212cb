import { generateClusterKey, type ClusterKey } from '@libs/testing/k8s-issuer/keys';
import { ClusterSetError, KubernetesClusterSet, type KubernetesClustersSpec } from './cluster-set';

const cluster = (over: Partial<KubernetesClustersSpec['clusters'][number]>) => ({
  name: 'web',
  issuer: 'https://oidc.example',
  audience: 'attestd',
  ...over,
});

function problems(spec: KubernetesClustersSpec): string[] {
  try {
    KubernetesClusterSet.build(spec);
  } catch (error) {
    if (error instanceof ClusterSetError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('KubernetesClusterSet', () => {
  let key: ClusterKey;
  beforeAll(async () => {
    key = await generateClusterKey('ES256');
  });

  it('compiles inline keys and jwksUri clusters', () => {
    const set = KubernetesClusterSet.build({
      clusters: [
        cluster({ jwks: { keys: [key.publicJwk] } }),
        cluster({ name: 'batch', jwksUri: 'https://oidc.example/keys' }),
      ],
    });
    const web = set.cluster('web')!;
    expect('inline' in web.keys && web.keys.inline.get(key.kid)?.alg).toBe('ES256');
    expect(set.cluster('batch')?.keys).toEqual({ jwksUri: 'https://oidc.example/keys' });
    expect(set.cluster('ghost')).toBeUndefined();
  });

  it('collects every problem: both or neither key source, unusable keys, duplicates', () => {
    expect(
      problems({
        clusters: [
          cluster({}),
          cluster({ name: 'b', jwksUri: 'https://x', jwks: { keys: [key.publicJwk] } }),
          cluster({
            name: 'c',
            jwks: {
              keys: [
                { kty: 'oct', k: 'c2VjcmV0', kid: 'h' },
                { kty: 'RSA', kid: 'r', n: '!!', e: 'AQAB' },
                { ...key.publicJwk, d: 'x' },
                key.publicJwk,
                key.publicJwk,
              ],
            },
          }),
          cluster({ name: 'c', jwksUri: 'https://x' }),
        ],
      }),
    ).toEqual([
      '/spec/clusters/0: cluster web needs exactly one of jwksUri and jwks',
      '/spec/clusters/1: cluster b needs exactly one of jwksUri and jwks',
      '/spec/clusters/2/jwks/keys/0: key kid h: only RSA (RS256) and EC P-256 (ES256) keys are allowed',
      '/spec/clusters/2/jwks/keys/1: key kid r: RSA keys must have at least 2048 bits',
      `/spec/clusters/2/jwks/keys/2: key kid ${key.kid}: is a private key; publish only the public key`,
      `/spec/clusters/2/jwks/keys/4: key kid ${key.kid} is listed twice`,
      '/spec/clusters/3/name: cluster c is listed twice',
    ]);
  });
});
