import { DependencyUnavailable } from '../../attestor';
import { startAwsSimulator, type AwsSimulator } from '@libs/testing/aws-simulator';
import { MEMBER_ROLE, OUTSIDER_ACCOUNT, worldInit } from '@libs/testing/aws-simulator/fixtures';
import { until } from '@libs/testing/until';
import { AwsClients } from './clients';
import { AssumedRoles, roleArnOf } from './credentials';
import { NO_STATS } from './stats';

const MINUTE = 60_000;

describe('AssumedRoles (against the simulator, with a test clock)', () => {
  let sim: AwsSimulator;
  let clients: AwsClients;
  let now: number;
  const saved = { ...process.env };

  beforeEach(async () => {
    sim = await startAwsSimulator(worldInit());
    Object.assign(process.env, sim.endpointEnv());
    clients = new AwsClients({ maxAttempts: 1, connectionTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    now = Date.now();
  });
  afterEach(async () => {
    clients.destroy();
    await sim.close();
    process.env = { ...saved };
  });

  const roles = () => new AssumedRoles(clients, NO_STATS, 'us-east-1', 100, () => now);
  const assumeCalls = () => sim.log.count({ operation: 'AssumeRole', succeeded: true });

  it('assumes the role once and reuses the credentials while they are fresh', async () => {
    const r = roles();
    const first = await r.credentials(MEMBER_ROLE);
    now += 49 * MINUTE;
    expect((await r.credentials(MEMBER_ROLE)).accessKeyId).toBe(first.accessKeyId);
    expect(assumeCalls()).toBe(1);
    expect(sim.log.entries({ operation: 'AssumeRole' })[0]?.params).toMatchObject({
      RoleArn: MEMBER_ROLE,
      RoleSessionName: 'attestd',
    });
  });

  it('hands the SDK an expiration 5 minutes before the real one', async () => {
    const c = await roles().credentials(MEMBER_ROLE);
    expect(c.expiration!.getTime()).toBeGreaterThan(Date.now() + 54 * MINUTE);
    expect(c.expiration!.getTime()).toBeLessThanOrEqual(Date.now() + 55 * MINUTE);
  });

  it('refreshes ahead: from 10 minutes before expiry a use still gets the current credentials and starts one background AssumeRole', async () => {
    const r = roles();
    const first = await r.credentials(MEMBER_ROLE);
    now += 51 * MINUTE;
    const during = await Promise.all([r.credentials(MEMBER_ROLE), r.credentials(MEMBER_ROLE)]);
    expect(during.map((c) => c.accessKeyId)).toEqual([first.accessKeyId, first.accessKeyId]);
    // the refresh ends when its answer is cached, some time after the simulator logged the call
    expect(await until(async () => (await r.credentials(MEMBER_ROLE)).accessKeyId !== first.accessKeyId, 10_000)).toBe(
      true,
    );
    expect(assumeCalls()).toBe(2);
  });

  it('never hands out credentials in their last 5 minutes: with STS down then, it fails closed', async () => {
    const r = roles();
    await r.credentials(MEMBER_ROLE);
    sim.world.setDown('sts', '503');
    now += 55 * MINUTE + 1;
    await expect(r.credentials(MEMBER_ROLE)).rejects.toThrow(DependencyUnavailable);
    sim.world.setDown('sts', false);
    expect((await r.credentials(MEMBER_ROLE)).accessKeyId).toMatch(/^ASIA/);
  });

  it('fails closed with a message naming the role when AssumeRole is refused', async () => {
    const role = roleArnOf('aws', OUTSIDER_ACCOUNT, 'attestd');
    const error = await roles()
      .credentials(role)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailable);
    expect((error as Error).message).toContain(`aws: sts:AssumeRole refused in us-east-1 (role ${role}): AccessDenied`);
  });
});
