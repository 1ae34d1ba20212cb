import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLogin } from '@apps/agent/login';
import { SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { startK8sIssuer, type K8sIssuer, type PodIdentity } from '@libs/testing/k8s-issuer';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { startTestServer, type TestServer } from '../support/server';
import { temporaryDirectories } from '../support/temp-directories';

const tempDir = temporaryDirectories();

const EXAMPLES = join(__dirname, '../../policies/examples');
const EXAMPLE_POLICY = readFileSync(join(EXAMPLES, 'aws-and-kubernetes.yaml'), 'utf8');
const EXAMPLE_CLUSTERS = readFileSync(join(EXAMPLES, 'kubernetes-clusters.yaml'), 'utf8');
const EXAMPLE_ISSUER = 'https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE';

/** the fixture's `blog` instance, 10.0.1.5 in us-east-1 */
const BLOG = 'i-0b22a22eec53b9321';
const BLOG_NODE = 'ip-10-0-1-5.ec2.internal';
/** an instance-store instance in us-east-1 */
const OTHER = 'i-0aaaaaaaaaaaaaaa1';
const AGENT: PodIdentity = { namespace: 'spire', serviceAccount: 'attestd-agent', pod: 'attestd-agent-x7k2p' };

interface AuditEvent {
  outcome: string;
  code: string;
  reason: string;
  attestors: string[];
  policy: string | null;
}

describe('multi-attestor logins: aws_iid and k8s_psat bound to one machine (example policy)', () => {
  let aws: AwsTestbed;
  let issuer: K8sIssuer;
  let server: TestServer;
  let otherNode: string;
  beforeAll(async () => {
    aws = await startAwsTestbed();
    issuer = await startK8sIssuer({ alg: 'ES256' });
    server = await startTestServer({ policies: { 'certificates.yaml': aws.certificatesSection } });
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
    otherNode = aws.sim.world.getInstance(OTHER)!.privateDnsName;
  });
  afterAll(async () => {
    await server?.stop();
    await issuer?.close();
    await aws?.close();
  });

  const dir = tempDir('multi-agent-');
  let files = 0;
  /** an agent pod on `instanceId` offering both proofs: the instance's IMDS and the pod's token */
  async function nodeLogin(instanceId: string, pod: PodIdentity) {
    const tokenFile = join(dir, `token-${(files += 1)}`);
    writeFileSync(tokenFile, await issuer.mint(pod));
    return runLogin({
      server: server.url,
      attestors: ['aws_iid', 'k8s_psat'],
      out: tempDir('multi-out-'),
      imdsEndpoint: (await aws.imdsFor(instanceId)).url,
      k8sCluster: 'web-cluster',
      k8sTokenFile: tokenFile,
    });
  }
  const agentCount = async () =>
    ((await (await server.admin('GET', '/v1/agents?limit=100')).json()) as { items: unknown[] }).items.length;
  const lastFailure = async () =>
    ((await (await server.admin('GET', '/v1/audit?outcome=failure&limit=1')).json()) as { items: AuditEvent[] })
      .items[0]!;

  const blogPod = '6e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a3b';

  it('accepts a pod whose node is the instance the identity document names, recording both TOFU keys', async () => {
    const summary = await nodeLogin(BLOG, { ...AGENT, podUid: blogPod, node: BLOG_NODE });
    expect(summary.policy).toBe('eks_nodes');
    expect(summary.spiffeId).toBe(`spiffe://example.org/eks/web-cluster/${BLOG}`);
    const agent = (await (await server.admin('GET', `/v1/agents/${summary.agentId}`)).json()) as {
      tofuKeys: string[];
      attributes: Record<string, string[]>;
    };
    expect([...agent.tofuKeys].sort()).toEqual([
      `aws_iid/${SERVER_ACCOUNT}/us-east-1/${BLOG}`,
      `k8s_psat/web-cluster/${blogPod}`,
    ]);
    expect(agent.attributes).toMatchObject({
      'k8s_psat.node.name': [BLOG_NODE],
      'aws_iid.ec2.instance.private_dns_name': [BLOG_NODE],
    });
  });

  it('denies proofs from two different machines with policy_denied, and the audit event names the binding rule', async () => {
    const before = await agentCount();
    await expect(nodeLogin(OTHER, { ...AGENT, node: BLOG_NODE })).rejects.toThrow(/403 policy_denied/);
    const event = await lastFailure();
    expect(event).toMatchObject({ code: 'policy_denied', policy: 'eks_nodes' });
    expect(event.reason).toContain('k8s_psat.node.name equalsAttribute aws_iid.ec2.instance.private_dns_name');
    expect(await agentCount()).toBe(before);
  });

  it('rejects the whole login when only the aws_iid key is taken, writing nothing for the new pod', async () => {
    const before = await agentCount();
    const freshPod = '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
    await expect(nodeLogin(BLOG, { ...AGENT, podUid: freshPod, node: BLOG_NODE })).rejects.toThrow(
      /409 node_already_attested/,
    );
    expect(await agentCount()).toBe(before);
    // the pod's key was not recorded: the same pod logs in from a free instance
    const summary = await nodeLogin(OTHER, { ...AGENT, podUid: freshPod, node: otherNode });
    expect(summary.policy).toBe('eks_nodes');
  });

  it('rejects the whole login when only the k8s_psat key is taken, writing nothing for the instance', async () => {
    const before = await agentCount();
    aws.sim.world.addInstance({
      accountId: SERVER_ACCOUNT,
      region: 'us-east-1',
      instanceId: 'i-0ddddddddddddddd4',
      rootDeviceType: 'instance-store',
    });
    const thirdNode = aws.sim.world.getInstance('i-0ddddddddddddddd4')!.privateDnsName;
    await expect(nodeLogin('i-0ddddddddddddddd4', { ...AGENT, podUid: blogPod, node: thirdNode })).rejects.toThrow(
      /409 node_already_attested/,
    );
    expect(await agentCount()).toBe(before);
    const summary = await nodeLogin('i-0ddddddddddddddd4', { ...AGENT, node: thirdNode });
    expect(summary.spiffeId).toBe('spiffe://example.org/eks/web-cluster/i-0ddddddddddddddd4');
  });

  it('fails the login when one of the two proofs does not verify', async () => {
    const tokenFile = join(dir, 'foreign-token');
    writeFileSync(tokenFile, await issuer.mint({ ...AGENT, node: BLOG_NODE }, { audience: 'someone-else' }));
    await expect(
      runLogin({
        server: server.url,
        attestors: ['aws_iid', 'k8s_psat'],
        out: tempDir('multi-out-'),
        imdsEndpoint: (await aws.imdsFor(BLOG)).url,
        k8sCluster: 'web-cluster',
        k8sTokenFile: tokenFile,
      }),
    ).rejects.toThrow(/401 attestation_failed: k8s_psat: token audience/);
  });
});
