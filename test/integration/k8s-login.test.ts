import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { runLogin } from '@apps/agent/login';
import { startK8sIssuer, type K8sIssuer, type PodIdentity } from '@libs/testing/k8s-issuer';
import { login, problemOf } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { temporaryDirectories } from '../support/temp-directories';

const tempDir = temporaryDirectories();

const EXAMPLES = join(__dirname, '../../policies/examples');
const EXAMPLE_POLICY = readFileSync(join(EXAMPLES, 'kubernetes.yaml'), 'utf8');
const EXAMPLE_CLUSTERS = readFileSync(join(EXAMPLES, 'kubernetes-clusters.yaml'), 'utf8');
const EXAMPLE_ISSUER = 'https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE';
const AGENT: PodIdentity = { namespace: 'spire', serviceAccount: 'attestd-agent', pod: 'attestd-agent-x7k2p' };

describe('Kubernetes logins end to end: agent, server, a cluster service-account issuer', () => {
  let issuer: K8sIssuer;
  let server: TestServer;
  beforeAll(async () => {
    issuer = await startK8sIssuer();
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() } });
    // the example clusters document, pointed at the test cluster's issuer; pushed while the server runs
    const clusters = EXAMPLE_CLUSTERS.replace(`${EXAMPLE_ISSUER}/keys`, issuer.jwksUri).replace(
      EXAMPLE_ISSUER,
      issuer.issuer,
    );
    for (const [section, body] of [
      ['KubernetesClusters', clusters],
      ['AgentAttestation', EXAMPLE_POLICY],
    ]) {
      const pushed = await server.call('PUT', `/v1/config/${section}`, {
        token: server.adminToken,
        body,
        headers: { 'content-type': 'application/yaml' },
      });
      expect(pushed.status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.stop();
    await issuer?.close();
  });

  const dir = tempDir('k8s-agent-');
  let files = 0;
  /** the agent as a pod runs it: the projected token in a file, the cluster by name */
  async function podLogin(token: string, cluster = 'web-cluster') {
    const tokenFile = join(dir, `token-${(files += 1)}`);
    writeFileSync(tokenFile, token);
    return runLogin({
      server: server.url,
      attestors: ['k8s_psat'],
      out: tempDir('k8s-out-'),
      k8sCluster: cluster,
      k8sTokenFile: tokenFile,
    });
  }
  const uid = '0c5a7d4e-1b2c-4d3e-8f4a-5b6c7d8e9f01';

  it('logs a pod in with its projected service-account token (example policy), with attributes and SPIRE selectors', async () => {
    const summary = await podLogin(await issuer.mint({ ...AGENT, podUid: uid, node: 'ip-10-0-1-5.ec2.internal' }));
    expect(summary.spiffeId).toBe(`spiffe://example.org/agent/k8s_psat/web-cluster/${uid}`);
    expect(summary.policy).toBe('k8s_agents');
    const agent = (await (await server.admin('GET', `/v1/agents/${summary.agentId}`)).json()) as {
      selectors: string[];
      tofuKeys: string[];
      attributes: Record<string, string[]>;
    };
    expect(agent.tofuKeys).toEqual([`k8s_psat/web-cluster/${uid}`]);
    expect(agent.attributes).toMatchObject({
      'k8s_psat.namespace': ['spire'],
      'k8s_psat.pod.name': [AGENT.pod],
      'k8s_psat.node.name': ['ip-10-0-1-5.ec2.internal'],
    });
    expect(agent.selectors).toEqual(
      expect.arrayContaining([
        'k8s_psat:cluster:web-cluster',
        'k8s_psat:agent_ns:spire',
        `k8s_psat:agent_pod_uid:${uid}`,
      ]),
    );
  });

  it('refuses the same pod a second time, even with a fresh token (TOFU)', async () => {
    await expect(podLogin(await issuer.mint({ ...AGENT, podUid: uid }))).rejects.toThrow(/409 node_already_attested/);
  });

  it('refuses a token for another audience', async () => {
    await expect(podLogin(await issuer.mint(AGENT, { audience: 'https://kubernetes.default.svc' }))).rejects.toThrow(
      /401 attestation_failed.*audience/,
    );
  });

  it('refuses a cluster it does not know', async () => {
    const response = await login(server, { k8s_psat: { cluster: 'ghost-cluster', token: await issuer.mint(AGENT) } });
    expect(await problemOf(response)).toMatchObject({
      status: 401,
      code: 'attestation_failed',
      detail: 'k8s_psat: cluster is not allowed',
    });
    const audit = (await (await server.admin('GET', '/v1/audit?outcome=failure&limit=1')).json()) as {
      items: { reason: string }[];
    };
    expect(audit.items[0]!.reason).toBe('k8s_psat: cluster ghost-cluster is not allowed by this policy');
  });

  it('refuses an unbound (legacy secret-based) token', async () => {
    await expect(podLogin(await issuer.mint(AGENT, { override: { 'kubernetes.io': undefined } }))).rejects.toThrow(
      /401 attestation_failed.*not a bound service-account token/,
    );
  });

  it('denies a pod outside the namespace the example policy names', async () => {
    await expect(podLogin(await issuer.mint({ ...AGENT, namespace: 'default' }))).rejects.toThrow(/403 policy_denied/);
  });

  it('answers 503 when the cluster JWKS cannot be reached, and applies a pushed KubernetesClusters without restart', async () => {
    const body = `section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n    - { name: web-cluster, issuer: "${issuer.issuer}", audience: attestd, jwksUri: "https://127.0.0.1:1/keys" }\n`;
    expect(
      (
        await server.call('PUT', '/v1/config/KubernetesClusters', {
          token: server.adminToken,
          body,
          headers: { 'content-type': 'application/yaml' },
        })
      ).status,
    ).toBe(200);
    const response = await login(server, { k8s_psat: { cluster: 'web-cluster', token: await issuer.mint(AGENT) } });
    expect((await problemOf(response)).status).toBe(503);
    // inline keys: no fetch at all
    const inline = issuer.clustersDocument([{ name: 'web-cluster', audience: 'attestd', inline: true }]);
    expect(
      (
        await server.call('PUT', '/v1/config/KubernetesClusters', {
          token: server.adminToken,
          body: inline,
          headers: { 'content-type': 'application/yaml' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await login(server, { k8s_psat: { cluster: 'web-cluster', token: await issuer.mint(AGENT) } })).status,
    ).toBe(200);
  });

  it("logs in a pod of a cluster whose issuer is no URL (minikube's kubernetes/serviceaccount) when its keys are inline", async () => {
    const minikube = 'kubernetes/serviceaccount';
    const put = (body: string) =>
      server.call('PUT', '/v1/config/KubernetesClusters', {
        token: server.adminToken,
        body,
        headers: { 'content-type': 'application/yaml' },
      });
    // fetched keys still need an https issuer: the key host vouches for it
    const fetched = await put(
      issuer.clustersDocument([{ name: 'web-cluster', audience: 'attestd', issuer: minikube }]),
    );
    expect(fetched.status).toBe(422);
    expect(await fetched.text()).toContain('must be an https URL when keys are fetched from jwksUri');

    expect(
      (
        await put(
          issuer.clustersDocument([{ name: 'web-cluster', audience: 'attestd', inline: true, issuer: minikube }]),
        )
      ).status,
    ).toBe(200);
    expect(issuer.key.alg).toBe('RS256');
    const summary = await podLogin(
      await issuer.mint({ ...AGENT, podUid: '7d1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6' }, { issuer: minikube }),
    );
    expect(summary.spiffeId).toBe(
      'spiffe://example.org/agent/k8s_psat/web-cluster/7d1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6',
    );
    // the https issuer's tokens no longer match this cluster
    await expect(podLogin(await issuer.mint(AGENT))).rejects.toThrow(/401 attestation_failed.*issuer/);
  });

  it('refuses a KubernetesClusters document whose inline key is not a usable public key', async () => {
    const body = `section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n    - { name: c, issuer: "https://x.example", audience: a, jwks: { keys: [{ kty: oct, kid: k, k: c2VjcmV0 }] } }\n`;
    const response = await server.call('PUT', '/v1/config/KubernetesClusters', {
      token: server.adminToken,
      body,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(response.status).toBe(422);
    expect(await response.text()).toMatch(/only RSA \(RS256\) and EC P-256 \(ES256\) keys are allowed/);
  });

  it('never answers an arbitrary k8s_psat proof with success or a 500', async () => {
    const key = issuer.key;
    const claims = fc.record(
      {
        iss: fc.oneof(fc.constant(issuer.issuer), fc.string()),
        aud: fc.oneof(fc.constant('attestd'), fc.string()),
        sub: fc.string(),
        'kubernetes.io': fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const token = fc.oneof(
      fc.string(),
      claims.map((c) => ({ c, alg: 'none' })),
      fc
        .tuple(fc.jsonValue(), fc.jsonValue())
        .map(
          ([h, p]) =>
            `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${Buffer.from(JSON.stringify(p)).toString('base64url')}.c2ln`,
        ),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant('web-cluster'), fc.string()), token, async (cluster, t) => {
        const proof =
          typeof t === 'string'
            ? t
            : `${Buffer.from(JSON.stringify({ alg: 'none', kid: key.kid })).toString('base64url')}.${Buffer.from(JSON.stringify(t.c)).toString('base64url')}.`;
        const response = await login(server, { k8s_psat: { cluster, token: proof } });
        expect(response.status).not.toBe(200);
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });
});
