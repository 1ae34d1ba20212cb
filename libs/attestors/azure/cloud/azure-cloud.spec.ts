import { DependencyUnavailable } from '../../attestor';
import type { CloudStats } from '../../aws/cloud/stats';
import { startAzureSimulator, type AzureSimulator } from '@libs/testing/azure-simulator';
import {
  BLOG_PRINCIPAL_ID,
  OTHER_TENANT_ID,
  SUBSCRIPTION_ID,
  TENANT_ID,
  azureWorldInit,
} from '@libs/testing/azure-simulator/fixtures';
import { createAzureCloud } from './azure-cloud';
import { createAzureKeySource } from './key-source';

describe('Azure cloud look-ups against the simulator (real @azure/* clients)', () => {
  let sim: AzureSimulator;
  const requests: string[] = [];
  const stats: CloudStats = {
    request: (service, operation, outcome) => requests.push(`${service} ${operation} ${outcome}`),
    cache: () => undefined,
  };
  beforeAll(async () => {
    sim = await startAzureSimulator(azureWorldInit());
  });
  afterAll(() => sim?.close());
  beforeEach(() => {
    sim.log.reset();
    sim.world.clearFaults();
    requests.length = 0;
  });

  const cloud = () => {
    const [principal] = [sim.world.servicePrincipal(TENANT_ID, '11111111-2222-4333-8444-555555555555')!];
    return createAzureCloud({
      authorityHost: sim.url,
      resourceManagerEndpoint: sim.url,
      tenants: [principal],
      cacheTtlSeconds: 60,
      stats,
    });
  };
  const blog = { tenantId: TENANT_ID, subscriptionId: SUBSCRIPTION_ID, resourceGroup: 'frontend', name: 'blog' };

  it("resolves a VM's security groups, virtual networks and subnets, signing in with the tenant's client secret", async () => {
    await expect(cloud().vmNetwork(blog)).resolves.toEqual({
      securityGroups: [{ resourceGroup: 'frontend', name: 'webservers' }],
      virtualNetworks: [{ resourceGroup: 'frontend', name: 'vnet' }],
      subnets: [{ resourceGroup: 'frontend', virtualNetwork: 'vnet', name: 'default' }],
    });
    expect(sim.log.count({ service: 'entra', operation: 'token', status: 200 })).toBe(1);
    expect(sim.log.count({ service: 'arm', status: 200 })).toBe(2);
    expect(requests).toEqual(['azure-arm virtualMachines.get success', 'azure-arm networkInterfaces.get success']);
  });

  it('caches look-ups and coalesces concurrent ones', async () => {
    const c = cloud();
    await Promise.all(Array.from({ length: 10 }, () => c.vmNetwork(blog)));
    await c.vmNetwork(blog);
    expect(sim.log.count({ operation: 'virtualMachines.get' })).toBe(1);
  });

  it('answers null for a VM ARM does not know', async () => {
    await expect(cloud().vmNetwork({ ...blog, name: 'ghost' })).resolves.toBeNull();
  });

  it('fails closed with DependencyUnavailable when ARM is down, and does not cache the failure', async () => {
    const c = cloud();
    sim.world.setDown('arm', true);
    await expect(c.vmNetwork(blog)).rejects.toBeInstanceOf(DependencyUnavailable);
    expect(requests).toContain('azure-arm virtualMachines.get failure');
    sim.world.setDown('arm', false);
    await expect(c.vmNetwork(blog)).resolves.not.toBeNull();
  });

  it('fails closed when the server cannot sign in (Entra down)', async () => {
    sim.world.setDown('entra', true);
    await expect(cloud().vmNetwork(blog)).rejects.toBeInstanceOf(DependencyUnavailable);
  });

  it('rides out a short burst of throttling', async () => {
    const c = cloud();
    await c.vmNetwork({ ...blog, name: 'ghost' }); // signs in first
    sim.world.setThrottle('arm', 1);
    await expect(c.vmNetwork(blog)).resolves.not.toBeNull();
  });

  it("fetches a tenant's signing keys through its OpenID metadata", async () => {
    const keys = await createAzureKeySource({ authorityHost: sim.url, stats }).fetchKeys(OTHER_TENANT_ID);
    expect(keys.keys.map((k) => k.kid)).toEqual(sim.world.signingKeys(OTHER_TENANT_ID).map((k) => k.kid));
    expect(requests).toEqual(['azure-entra openid-configuration success', 'azure-entra jwks success']);
  });

  it('reports an unreachable authority as DependencyUnavailable', async () => {
    sim.world.setDown('entra', true);
    await expect(createAzureKeySource({ authorityHost: sim.url }).fetchKeys(TENANT_ID)).rejects.toBeInstanceOf(
      DependencyUnavailable,
    );
  });

  it('aborts an endless OpenID metadata answer at the size cap', async () => {
    sim.world.setEndless('entra', true);
    await expect(createAzureKeySource({ authorityHost: sim.url }).fetchKeys(TENANT_ID)).rejects.toThrow(
      new DependencyUnavailable(
        `azure: openid-configuration unavailable at ${sim.url}: answer is larger than 262144 bytes`,
      ),
    );
  });

  it('has the VM principal the fixtures name', () => {
    expect(sim.world.vm(SUBSCRIPTION_ID, 'frontend', 'blog')?.principalId).toBe(BLOG_PRINCIPAL_ID);
  });
});
