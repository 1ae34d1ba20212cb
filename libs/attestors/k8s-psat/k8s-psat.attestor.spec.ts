import { generateClusterKey, type ClusterKey } from '@libs/testing/k8s-issuer/keys';
import { projectedClaims, signToken, type PodIdentity } from '@libs/testing/k8s-issuer/tokens';
import { DependencyUnavailable } from '../attestor';
import { KubernetesClusterSet } from './cluster-set';
import { k8sPsatAttestor, type K8sPsatConfig } from './k8s-psat.attestor';
import { RemoteKeySets } from './remote-keys';
import { rejectionReason } from '../testing/rejection';

const ISSUER = 'https://oidc.example/id/WEB';
const JWKS_URI = `${ISSUER}/keys`;
const POD: PodIdentity = {
  namespace: 'spire',
  serviceAccount: 'attestd-agent',
  pod: 'agent-x7k2p',
  podUid: '5f0c1d9e-4a3b-4c2d-8e1f-0a9b8c7d6e5f',
  node: 'ip-10-0-0-1.ec2.internal',
};
const CONFIG: K8sPsatConfig = { clusters: ['web', 'batch'] };
/** what minikube (and kubeadm's old default) signs into `iss`: no URL */
const MINIKUBE_ISSUER = 'kubernetes/serviceaccount';

let rsa: ClusterKey;
let ec: ClusterKey;
let stranger: ClusterKey;
beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([
    generateClusterKey('RS256'),
    generateClusterKey('ES256'),
    generateClusterKey('RS256'),
  ]);
});

function setup(options: { fetch?: (uri: string) => Promise<unknown> } = {}) {
  const fetched: string[] = [];
  const clusters = KubernetesClusterSet.build({
    clusters: [
      { name: 'web', issuer: ISSUER, audience: 'attestd', jwks: { keys: [rsa.publicJwk, ec.publicJwk] } },
      { name: 'batch', issuer: 'https://oidc.example/id/BATCH', audience: 'attestd', jwksUri: JWKS_URI },
      {
        name: 'other',
        issuer: 'https://oidc.example/id/OTHER',
        audience: 'attestd',
        jwks: { keys: [stranger.publicJwk] },
      },
      { name: 'minikube', issuer: MINIKUBE_ISSUER, audience: 'attestd', jwks: { keys: [rsa.publicJwk] } },
    ],
  });
  const source = {
    fetchKeys: async (uri: string) => (
      fetched.push(uri),
      options.fetch ? options.fetch(uri) : { keys: [rsa.publicJwk] }
    ),
  };
  const attestor = k8sPsatAttestor({ clusters: () => clusters, remoteKeys: new RemoteKeySets(source) });
  return { attestor, fetched };
}

const claims = (
  over: Record<string, unknown> = {},
  issuer = ISSUER,
  audience: string | string[] = 'attestd',
  ttlSeconds = 3600,
) => ({
  ...projectedClaims(POD, { issuer, audience, ttlSeconds }),
  ...over,
});
const verify = (token: string, cluster = 'web', config = CONFIG, attestor = setup().attestor) =>
  attestor.verify({ cluster, token }, config, { now: new Date() });

/** A JWT with the given header and claims and a junk signature. */
function forged(header: Record<string, unknown>, payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.${Buffer.from('sig').toString('base64url')}`;
}

describe('k8s_psat attestor', () => {
  it("emits cluster, namespace, service account, pod and node attributes, SPIRE's selectors and the TOFU key", async () => {
    const verified = await verify(await signToken(claims(), rsa));
    expect(verified.attributes).toEqual({
      cluster: ['web'],
      namespace: ['spire'],
      service_account: ['attestd-agent'],
      'pod.name': ['agent-x7k2p'],
      'pod.uid': [POD.podUid],
      'node.name': ['ip-10-0-0-1.ec2.internal'],
      'node.uid': [expect.any(String)],
    });
    expect(verified.selectors).toEqual(
      expect.arrayContaining([
        'cluster:web',
        'agent_ns:spire',
        'agent_sa:attestd-agent',
        'agent_pod_uid:' + POD.podUid,
        'agent_node_name:ip-10-0-0-1.ec2.internal',
      ]),
    );
    expect(verified.tofuKey).toBe(`k8s_psat/web/${POD.podUid}`);
  });

  it('accepts an ES256 token and an audience list that contains the cluster audience', async () => {
    const verified = await verify(
      await signToken(claims({}, ISSUER, ['https://kubernetes.default.svc', 'attestd']), ec),
    );
    expect(verified.attributes.cluster).toEqual(['web']);
  });

  it("accepts an RS256 token of a cluster whose issuer is no URL (minikube's), with its keys inline", async () => {
    const verified = await verify(await signToken(claims({}, MINIKUBE_ISSUER), rsa), 'minikube', {
      clusters: ['minikube'],
    });
    expect(verified.tofuKey).toBe(`k8s_psat/minikube/${POD.podUid}`);
    expect(
      await rejectionReason(
        verify(await signToken(claims({}, 'https://kubernetes.default.svc'), rsa), 'minikube', {
          clusters: ['minikube'],
        }),
      ),
    ).toBe('k8s_psat: token issuer is not the issuer of cluster minikube');
  });

  it('omits node attributes when the token carries no node', async () => {
    const token = await signToken(
      { ...projectedClaims({ ...POD, node: null }, { issuer: ISSUER, audience: 'attestd', ttlSeconds: 600 }) },
      rsa,
    );
    const verified = await verify(token);
    expect(Object.keys(verified.attributes)).not.toContain('node.name');
    expect(verified.selectors.some((s) => s.startsWith('agent_node'))).toBe(false);
  });

  it("fetches a jwksUri cluster's keys once and reuses them", async () => {
    const { attestor, fetched } = setup();
    const batch = () => signToken(claims({}, 'https://oidc.example/id/BATCH'), rsa);
    await verify(await batch(), 'batch', CONFIG, attestor);
    await verify(await batch(), 'batch', CONFIG, attestor);
    expect(fetched).toEqual([JWKS_URI]);
  });

  describe('rejects', () => {
    it('a cluster the policy does not allow, without fetching anything', async () => {
      const { attestor, fetched } = setup();
      expect(
        await rejectionReason(verify(await signToken(claims(), rsa), 'batch', { clusters: ['web'] }, attestor)),
      ).toBe('k8s_psat: cluster batch is not allowed by this policy');
      expect(fetched).toEqual([]);
    });

    it('a cluster missing from KubernetesClusters', async () => {
      expect(await rejectionReason(verify(await signToken(claims(), rsa), 'ghost', { clusters: ['ghost'] }))).toBe(
        'k8s_psat: cluster ghost is not in the KubernetesClusters section',
      );
    });

    it('a proof that is not a JWT', async () => {
      expect(await rejectionReason(verify('not-a-jwt'))).toBe('k8s_psat: token is not a JWT');
    });

    it.each(['none', 'HS256', 'RS512', 'PS256'])('algorithm %s', async (alg) => {
      expect(await rejectionReason(verify(forged({ alg, kid: rsa.kid }, claims())))).toMatch(
        `token algorithm "${alg}" is not allowed`,
      );
    });

    it.each(['jwk', 'jku', 'x5u', 'x5c'])('an embedded %s header', async (header) => {
      expect(
        await rejectionReason(
          verify(
            await signToken(claims(), rsa, { [header]: header === 'jwk' ? rsa.publicJwk : 'https://evil.example/k' }),
          ),
        ),
      ).toBe(`k8s_psat: token header must not carry ${header}`);
    });

    it('a token without kid', async () => {
      expect(await rejectionReason(verify(forged({ alg: 'RS256' }, claims())))).toBe(
        'k8s_psat: token header has no kid',
      );
    });

    it('a kid the cluster does not publish', async () => {
      expect(await rejectionReason(verify(await signToken(claims(), stranger)))).toBe(
        `k8s_psat: no signing key ${stranger.kid} in the JWKS of cluster web`,
      );
    });

    it('an algorithm that is not the key’s (RS256 header on an EC key)', async () => {
      expect(await rejectionReason(verify(forged({ alg: 'RS256', kid: ec.kid }, claims())))).toBe(
        'k8s_psat: token algorithm does not match the algorithm of its key in cluster web',
      );
    });

    it('a signature that does not verify', async () => {
      const token = await signToken(claims(), stranger, { kid: rsa.kid });
      expect(await rejectionReason(verify(token))).toBe('k8s_psat: token signature does not verify');
    });

    it("another cluster's issuer", async () => {
      expect(await rejectionReason(verify(await signToken(claims({}, 'https://oidc.example/id/OTHER'), rsa)))).toBe(
        'k8s_psat: token issuer is not the issuer of cluster web',
      );
    });

    it('a wrong audience', async () => {
      expect(
        await rejectionReason(verify(await signToken(claims({}, ISSUER, 'https://kubernetes.default.svc'), rsa))),
      ).toBe('k8s_psat: token audience does not contain "attestd"');
    });

    it('an expired token', async () => {
      expect(await rejectionReason(verify(await signToken(claims({}, ISSUER, 'attestd', -3600), rsa)))).toBe(
        'k8s_psat: token has expired',
      );
    });

    it('a token not valid yet', async () => {
      const later = Math.floor(Date.now() / 1000) + 3600;
      expect(await rejectionReason(verify(await signToken(claims({ nbf: later, exp: later + 600 }), rsa)))).toBe(
        'k8s_psat: token is not valid yet',
      );
    });

    it('a token without exp', async () => {
      expect(await rejectionReason(verify(await signToken(claims({ exp: undefined }), rsa)))).toBe(
        'k8s_psat: token claim exp is invalid',
      );
    });

    it('a signature part that is not base64url', async () => {
      const [header, payload] = (await signToken(claims(), rsa)).split('.');
      expect(await rejectionReason(verify(`${header}.${payload}.not*base64url`))).toBe(
        'k8s_psat: token is invalid (ERR_JWS_INVALID)',
      );
    });

    it('a legacy (unbound) token without the kubernetes.io claim', async () => {
      expect(await rejectionReason(verify(await signToken(claims({ 'kubernetes.io': undefined }), rsa)))).toBe(
        'k8s_psat: token is not a bound service-account token (no kubernetes.io claim)',
      );
    });

    it('a token without namespace', async () => {
      const k8s = claims()['kubernetes.io'] as Record<string, unknown>;
      expect(
        await rejectionReason(
          verify(await signToken(claims({ 'kubernetes.io': { ...k8s, namespace: undefined } }), rsa)),
        ),
      ).toBe('k8s_psat: token kubernetes.io claim has no namespace');
    });

    it('a token without service account', async () => {
      const k8s = claims()['kubernetes.io'] as Record<string, unknown>;
      expect(
        await rejectionReason(
          verify(await signToken(claims({ 'kubernetes.io': { ...k8s, serviceaccount: { name: 'x' } } }), rsa)),
        ),
      ).toBe('k8s_psat: token kubernetes.io claim has no serviceaccount name and uid');
    });

    it('a token not bound to a pod', async () => {
      const k8s = claims()['kubernetes.io'] as Record<string, unknown>;
      expect(
        await rejectionReason(verify(await signToken(claims({ 'kubernetes.io': { ...k8s, pod: undefined } }), rsa))),
      ).toBe('k8s_psat: token is not bound to a pod (kubernetes.io.pod name and uid)');
    });

    it('a subject that does not name the service account', async () => {
      expect(
        await rejectionReason(verify(await signToken(claims({ sub: 'system:serviceaccount:kube-system:admin' }), rsa))),
      ).toBe('k8s_psat: token subject does not name its service account');
    });

    it('a node claim without uid', async () => {
      const k8s = claims()['kubernetes.io'] as Record<string, unknown>;
      expect(
        await rejectionReason(
          verify(await signToken(claims({ 'kubernetes.io': { ...k8s, node: { name: 'n' } } }), rsa)),
        ),
      ).toBe('k8s_psat: token kubernetes.io.node claim has no name and uid');
    });
  });

  it('fails closed with DependencyUnavailable when the jwksUri cannot be reached', async () => {
    const { attestor } = setup({
      fetch: () => Promise.reject(new DependencyUnavailable('k8s_psat: jwks unavailable')),
    });
    const token = await signToken(claims({}, 'https://oidc.example/id/BATCH'), rsa);
    await expect(verify(token, 'batch', CONFIG, attestor)).rejects.toBeInstanceOf(DependencyUnavailable);
  });
});
