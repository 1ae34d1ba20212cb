import { startAwsSimulator, type AwsSimulator } from '@libs/testing/aws-simulator';
import { presignedGetCallerIdentity, SERVER_ACCOUNT, worldInit } from '@libs/testing/aws-simulator/fixtures';
import { DependencyUnavailable } from '../attestor';
import { createStsSender } from './sts-sender';

describe('createStsSender against the simulator', () => {
  let sim: AwsSimulator;
  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
  });
  afterAll(() => sim?.close());
  afterEach(() => sim.world.clearFaults());

  const signedRequest = async () => {
    const session = sim.world.issueSession(`arn:aws:iam::${SERVER_ACCOUNT}:role/checkout`, 'sender');
    const signed = await presignedGetCallerIdentity(session, 'challenge');
    return {
      url: 'https://sts.us-east-1.amazonaws.com/',
      method: 'POST' as const,
      headers: signed.headers,
      body: signed.body,
    };
  };
  const sender = () => createStsSender({ timeoutMs: 5_000, maxBytes: 64 * 1024, endpointOverride: sim.url });

  it("sends the agent's signed GetCallerIdentity and returns STS's answer", async () => {
    const answer = await sender().send(await signedRequest());
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(':assumed-role/checkout/sender');
  });

  it('hangs up on an endless answer at the size cap', async () => {
    sim.world.setDown('sts', 'endless');
    await expect(sender().send(await signedRequest())).rejects.toThrow(
      new DependencyUnavailable('aws: sts answer exceeds 65536 bytes'),
    );
  });
});
