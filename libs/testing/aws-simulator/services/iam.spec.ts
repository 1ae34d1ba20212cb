import { GetInstanceProfileCommand } from '@aws-sdk/client-iam';
import { clients, OUTSIDER_KEY, WEB_PROFILE, WEB_ROLE, worldInit } from '../fixtures';
import { startAwsSimulator, type AwsSimulator } from '../index';

describe('aws-simulator iam GetInstanceProfile', () => {
  let sim: AwsSimulator;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
  });
  afterAll(() => sim?.close());

  it("returns the profile's roles", async () => {
    const out = await clients(sim.url, sim.world.server).iam.send(
      new GetInstanceProfileCommand({ InstanceProfileName: 'web' }),
    );
    expect(out.InstanceProfile).toMatchObject({ InstanceProfileName: 'web', Arn: WEB_PROFILE, Path: '/' });
    expect(out.InstanceProfile?.Roles?.map((r) => r.Arn)).toEqual([WEB_ROLE]);
    expect(out.InstanceProfile?.Roles?.[0]).toMatchObject({ RoleName: 'web-frontend', Path: '/' });
    expect(out.InstanceProfile?.Roles?.[0]?.CreateDate).toBeInstanceOf(Date);
  });

  it('refuses an unknown profile, or one of another account, with NoSuchEntity (404)', async () => {
    await expect(
      clients(sim.url, sim.world.server).iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'nope' })),
    ).rejects.toMatchObject({
      name: 'NoSuchEntityException',
      message: 'Instance Profile nope cannot be found.',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      clients(sim.url, OUTSIDER_KEY).iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web' })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('serves profiles with a path and several roles', async () => {
    sim.world.addInstanceProfile({
      arn: 'arn:aws:iam::111111111111:instance-profile/team/a/batch',
      roleArns: ['arn:aws:iam::111111111111:role/batch-1', 'arn:aws:iam::111111111111:role/team/batch-2'],
    });
    const out = await clients(sim.url, sim.world.server).iam.send(
      new GetInstanceProfileCommand({ InstanceProfileName: 'batch' }),
    );
    expect(out.InstanceProfile?.Path).toBe('/team/a/');
    expect(out.InstanceProfile?.Roles?.map((r) => [r.RoleName, r.Path])).toEqual([
      ['batch-1', '/'],
      ['batch-2', '/team/'],
    ]);
  });
});
