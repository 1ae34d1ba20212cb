import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLogin } from '@apps/agent/login';
import { SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { startTestServer, type TestServer } from '../support/server';

const FIRST = 'i-0b22a22eec53b9321';
const SECOND = 'i-0f0f0f0f0f0f0f0f6';
const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
      spiffeIdTemplate: "/ec2/{{aws_iid.ec2.instance.id}}"
`;

describe('cloudCacheSize bounds the cloud look-up caches', () => {
  let aws: AwsTestbed;
  let server: TestServer;
  let out = '';
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'cache-size-agent-'));
    aws = await startAwsTestbed();
    aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId: SECOND });
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
      env: { ATTESTD_CLOUD_CACHE_SIZE: '1' },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await aws?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  /** Logs `instanceId` in (a second time it is refused by TOFU, after its look-up) and says how many DescribeInstances calls that took. */
  const describeCallsOfLogin = async (instanceId: string) => {
    aws.sim.log.reset();
    const imds = await aws.imdsFor(instanceId);
    await runLogin({
      server: server.url,
      attestors: ['aws_iid'],
      out: mkdtempSync(join(out, 'svid-')),
      imdsEndpoint: imds.url,
    }).catch((error: Error) => {
      if (!/409 node_already_attested/.test(error.message)) throw error;
    });
    return aws.sim.log.count({ operation: 'DescribeInstances' });
  };

  it('with room for one instance, a second pushes the first out, so the first is looked up again', async () => {
    expect([
      await describeCallsOfLogin(FIRST),
      await describeCallsOfLogin(SECOND),
      await describeCallsOfLogin(FIRST),
    ]).toEqual([1, 1, 1]);
  });

  it('with room for two, both stay cached', async () => {
    server = await server.restart({ ATTESTD_CLOUD_CACHE_SIZE: '2' });
    expect([
      await describeCallsOfLogin(FIRST),
      await describeCallsOfLogin(SECOND),
      await describeCallsOfLogin(FIRST),
    ]).toEqual([1, 1, 0]);
  });
});
