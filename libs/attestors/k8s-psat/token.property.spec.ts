import fc from 'fast-check';
import { generateClusterKey, type ClusterKey } from '@libs/testing/k8s-issuer/keys';
import { projectedClaims, signToken } from '@libs/testing/k8s-issuer/tokens';
import { ProofRejected } from '../attestor';
import { KubernetesClusterSet } from './cluster-set';
import { k8sPsatAttestor } from './k8s-psat.attestor';
import { RemoteKeySets } from './remote-keys';

const ISSUER = 'https://oidc.example/id/WEB';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('k8s_psat against arbitrary input', () => {
  let key: ClusterKey;
  let attestor: ReturnType<typeof k8sPsatAttestor>;
  beforeAll(async () => {
    key = await generateClusterKey('RS256');
    const clusters = KubernetesClusterSet.build({
      clusters: [{ name: 'web', issuer: ISSUER, audience: 'attestd', jwks: { keys: [key.publicJwk] } }],
    });
    const unreachable = new RemoteKeySets({ fetchKeys: () => Promise.reject(new Error('no fetch expected')) });
    attestor = k8sPsatAttestor({ clusters: () => clusters, remoteKeys: unreachable });
  });

  /** every outcome is a ProofRejected: never success, never another error (a 500) */
  async function rejectsCleanly(cluster: string, token: string): Promise<void> {
    const outcome = await attestor.verify({ cluster, token }, { clusters: ['web', cluster] }, { now: new Date() }).then(
      () => 'accepted',
      (error: unknown) => (error instanceof ProofRejected ? 'rejected' : `threw ${String(error)}`),
    );
    expect(outcome).toBe('rejected');
  }

  it('rejects arbitrary strings and JWT-shaped junk', async () => {
    const junk = fc.oneof(
      fc.string(),
      fc.tuple(fc.jsonValue(), fc.jsonValue(), fc.string()).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s}`),
      fc
        .tuple(fc.constantFrom('none', 'HS256', 'RS256', 'ES256'), fc.jsonValue())
        .map(([alg, p]) => `${b64({ alg, kid: key.kid })}.${b64(p)}.`),
    );
    await fc.assert(fc.asyncProperty(fc.oneof(fc.constant('web'), fc.string()), junk, rejectsCleanly), {
      numRuns: 300,
    });
  });

  it('rejects correctly signed tokens whose claims are arbitrary (unbound, wrong issuer or audience)', async () => {
    const claims = fc.record(
      {
        iss: fc.oneof(fc.constant(ISSUER), fc.string()),
        aud: fc.oneof(fc.constant('other'), fc.array(fc.string())),
        'kubernetes.io': fc.jsonValue(),
        sub: fc.string(),
      },
      { requiredKeys: ['aud'] },
    );
    await fc.assert(
      fc.asyncProperty(claims, async (c) => {
        const base = projectedClaims(
          { namespace: 'n', serviceAccount: 's', pod: 'p' },
          { issuer: ISSUER, audience: 'attestd', ttlSeconds: 600 },
        );
        await rejectsCleanly('web', await signToken({ ...base, ...c }, key));
      }),
      { numRuns: 100 },
    );
  });
});
