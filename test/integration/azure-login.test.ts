import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { generateAgentKey } from '@apps/agent/keys';
import { runLogin } from '@apps/agent/login';
import {
  AZURE_CLI_CLIENT_ID,
  startAzureImds,
  startAzureSimulator,
  type AzureSimulator,
  type RunningHttp,
  type VmInit,
} from '@libs/testing/azure-simulator';
import {
  azureWorldInit,
  BLOG_PRINCIPAL_ID,
  OTHER_TENANT_ID,
  SUBSCRIPTION_ID,
  TENANT_ID,
} from '@libs/testing/azure-simulator/fixtures';
import { login, problemOf } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { temporaryDirectories } from '../support/temp-directories';

const tempDir = temporaryDirectories();

const EXAMPLE_POLICY = readFileSync(join(__dirname, '../../policies/examples/azure.yaml'), 'utf8');

describe('Azure logins end to end: agent, server, simulated Azure (Entra, ARM, IMDS)', () => {
  let sim: AzureSimulator;
  let server: TestServer;
  const imdsServers: RunningHttp[] = [];
  beforeAll(async () => {
    sim = await startAzureSimulator(azureWorldInit());
    const principal = sim.world.servicePrincipal(TENANT_ID, '11111111-2222-4333-8444-555555555555')!;
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() }, env: sim.settingsEnv([principal]) });
    const pushed = await server.call('PUT', '/v1/config/AgentAttestation', {
      token: server.adminToken,
      body: EXAMPLE_POLICY,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(pushed.status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(imdsServers.map((s) => s.close()));
    await server?.stop();
    await sim?.close();
  });
  beforeEach(() => sim.log.reset());

  /** A VM with one NIC in `frontend` (NSG and subnet as given) and its IMDS. */
  async function vmWithImds(
    vm: Partial<VmInit> & { name: string },
    nic: { securityGroup?: string; subnet?: string } = {},
  ): Promise<string> {
    sim.world.addNetworkInterface({
      subscriptionId: SUBSCRIPTION_ID,
      resourceGroup: 'frontend',
      name: `${vm.name}-nic`,
      securityGroup: { name: nic.securityGroup ?? 'webservers' },
      subnets: [{ virtualNetwork: 'vnet', name: nic.subnet ?? 'default' }],
    });
    const added = sim.world.addVm({
      tenantId: TENANT_ID,
      subscriptionId: SUBSCRIPTION_ID,
      resourceGroup: 'frontend',
      networkInterfaces: [`${vm.name}-nic`],
      ...vm,
    });
    return imdsOf(added);
  }

  async function imdsOf(vm: Parameters<typeof startAzureImds>[1]): Promise<string> {
    const imds = await startAzureImds(sim.world, vm, { authority: sim.url });
    imdsServers.push(imds);
    return imds.url;
  }

  const azureLogin = (azureImdsEndpoint: string) =>
    runLogin({ server: server.url, attestors: ['azure_msi'], out: tempDir('azure-agent-'), azureImdsEndpoint });

  it('logs an Azure VM in with its managed identity token, with network attributes and SPIRE selectors (example policy)', async () => {
    const summary = await azureLogin(await imdsOf(sim.world.vm(SUBSCRIPTION_ID, 'frontend', 'blog')!));
    expect(summary.spiffeId).toBe(`spiffe://example.org/agent/azure_msi/${TENANT_ID}/${BLOG_PRINCIPAL_ID}`);
    expect(summary.policy).toBe('azure_web');
    const agent = (await (await server.admin('GET', `/v1/agents/${summary.agentId}`)).json()) as {
      selectors: string[];
      tofuKeys: string[];
      attributes: Record<string, string[]>;
    };
    expect(agent.tofuKeys).toEqual([`azure_msi/${TENANT_ID}/${BLOG_PRINCIPAL_ID}`]);
    expect(agent.attributes).toMatchObject({
      'azure_msi.vm.name': ['blog'],
      'azure_msi.network.security_group': ['frontend:webservers'],
      'azure_msi.network.virtual_network': ['frontend:vnet'],
      'azure_msi.network.subnet': ['frontend:vnet:default'],
    });
    expect(agent.selectors).toEqual(
      expect.arrayContaining([
        `azure_msi:subscription-id:${SUBSCRIPTION_ID}`,
        'azure_msi:vm-name:frontend:blog',
        'azure_msi:network-security-group:frontend:webservers',
      ]),
    );
    expect(sim.log.count({ service: 'arm', operation: 'virtualMachines.get', status: 200 })).toBe(1);
    const metrics = await (await server.call('GET', '/metrics')).text();
    expect(metrics).toMatch(/attestd_cloud_requests_total\{[^}]*service="azure-arm"[^}]*\} [1-9]/);
  });

  it('logs a VM in with its user-assigned identity: the VM (xms_az_rid) and its networks, the identity named, TOFU on the identity', async () => {
    const identity = sim.world.addUserAssignedIdentity({
      tenantId: TENANT_ID,
      subscriptionId: SUBSCRIPTION_ID,
      resourceGroup: 'identities',
      name: 'web-nodes',
    });
    const url = await vmWithImds({ name: 'api', systemAssigned: false, userAssignedIdentities: [identity.resourceId] });
    const summary = await azureLogin(url);
    expect(summary.spiffeId).toBe(`spiffe://example.org/agent/azure_msi/${TENANT_ID}/${identity.principalId}`);
    const agent = (await (await server.admin('GET', `/v1/agents/${summary.agentId}`)).json()) as {
      tofuKeys: string[];
      attributes: Record<string, string[]>;
    };
    expect(agent.attributes).toEqual({
      'azure_msi.tenant.id': [TENANT_ID],
      'azure_msi.principal.id': [identity.principalId],
      'azure_msi.identity.type': ['user_assigned'],
      'azure_msi.identity.name': ['web-nodes'],
      'azure_msi.identity.resource_group': ['identities'],
      'azure_msi.subscription.id': [SUBSCRIPTION_ID],
      'azure_msi.vm.name': ['api'],
      'azure_msi.vm.resource_group': ['frontend'],
      'azure_msi.network.security_group': ['frontend:webservers'],
      'azure_msi.network.virtual_network': ['frontend:vnet'],
      'azure_msi.network.subnet': ['frontend:vnet:default'],
    });
    expect(agent.tofuKeys).toEqual([`azure_msi/${TENANT_ID}/${identity.principalId}`]);
    expect(sim.log.count({ service: 'arm', operation: 'virtualMachines.get', status: 200 })).toBe(1);
    // the identity is the node's TOFU key: a second VM sharing it is refused while the first holds it
    const sibling = await vmWithImds({
      name: 'api-2',
      systemAssigned: false,
      userAssignedIdentities: [identity.resourceId],
    });
    await expect(azureLogin(sibling)).rejects.toThrow(/409 node_already_attested/);
  });

  describe('refuses principals of a listed tenant that are not a VM’s managed identity, with the reason audited', () => {
    const ARM = 'https://management.azure.com/';
    async function entraToken(form: Record<string, string>): Promise<string> {
      const response = await fetch(`${sim.url}/${TENANT_ID}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({ ...form, scope: `${ARM}/.default` }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { access_token: string }).access_token;
    }

    async function expectRefused(token: string, reason: string): Promise<void> {
      const problem = await problemOf(await login(server, { azure_msi: { token } }));
      expect(problem).toMatchObject({ status: 401, code: 'attestation_failed', detail: reason });
      const audit = (await (
        await server.admin('GET', '/v1/audit?outcome=failure&attestor=azure_msi&limit=1')
      ).json()) as { items: { code: string; reason: string }[] };
      expect(audit.items[0]).toMatchObject({ code: 'attestation_failed', reason });
      expect(sim.log.count({ service: 'arm' })).toBe(0);
    }

    it("a user's token from az login (password grant, Azure CLI client)", async () => {
      const user = sim.world.addUser({ tenantId: TENANT_ID, userPrincipalName: 'mallory@contoso.example' });
      const token = await entraToken({
        grant_type: 'password',
        client_id: AZURE_CLI_CLIENT_ID,
        username: user.userPrincipalName,
        password: user.password,
      });
      await expectRefused(
        token,
        "azure_msi: token is not a managed identity's: it is a user's delegated token (scp claim)",
      );
    });

    it("a service principal's client-secret token with ARM's audience", async () => {
      const principal = sim.world.addServicePrincipal({ tenantId: TENANT_ID });
      const token = await entraToken({
        grant_type: 'client_credentials',
        client_id: principal.clientId,
        client_secret: principal.clientSecret,
      });
      await expectRefused(
        token,
        "azure_msi: token is not a managed identity's: it has no xms_mirid claim (an application's or a user's token)",
      );
    });
  });

  it('refuses the same VM a second time (TOFU)', async () => {
    await expect(azureLogin(await imdsOf(sim.world.vm(SUBSCRIPTION_ID, 'frontend', 'blog')!))).rejects.toThrow(
      /409 node_already_attested/,
    );
  });

  it('denies a VM outside the security group the rule names', async () => {
    await expect(azureLogin(await vmWithImds({ name: 'backoffice' }, { securityGroup: 'internal' }))).rejects.toThrow(
      /403 policy_denied/,
    );
  });

  it('refuses a token of a tenant the policy does not list', async () => {
    const url = await vmWithImds({ name: 'stranger', tenantId: OTHER_TENANT_ID });
    await expect(azureLogin(url)).rejects.toThrow(/401 attestation_failed: azure_msi: tenant is not allowed$/);
    const audit = (await (await server.admin('GET', '/v1/audit?outcome=failure&limit=1')).json()) as {
      items: { reason: string }[];
    };
    expect(audit.items[0]!.reason).toBe(`azure_msi: tenant ${OTHER_TENANT_ID} is not allowed by this policy`);
  });

  it('refuses a token whose VM no longer exists', async () => {
    const url = await vmWithImds({ name: 'deleted' });
    sim.world.deleteVm(sim.world.vm(SUBSCRIPTION_ID, 'frontend', 'deleted')!);
    await expect(azureLogin(url)).rejects.toThrow(
      /401 attestation_failed: azure_msi: virtual machine deleted does not exist/,
    );
  });

  it('fails closed with 503 when ARM is unreachable, recording no agent', async () => {
    const url = await vmWithImds({ name: 'unlucky', principalId: '9b0c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e' });
    sim.world.setDown('arm', true);
    try {
      await expect(azureLogin(url)).rejects.toThrow(/503 unavailable/);
    } finally {
      sim.world.clearFaults();
    }
    const agents = (await (await server.admin('GET', '/v1/agents?attestor=azure_msi&limit=500')).json()) as {
      items: { tofuKeys: string[] }[];
    };
    expect(agents.items.flatMap((a) => a.tofuKeys)).not.toContain(
      `azure_msi/${TENANT_ID}/9b0c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e`,
    );
  });

  it('answers arbitrary token strings with 400 or 401, never success or a 500', async () => {
    const csr = (await generateAgentKey()).csrPem;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.stringMatching(/^[A-Za-z0-9_-]{1,60}\.[A-Za-z0-9_-]{1,60}\.[A-Za-z0-9_-]{0,60}$/),
        ),
        async (token) => {
          const problem = await problemOf(await login(server, { azure_msi: { token } }, csr));
          expect([400, 401]).toContain(problem.status);
        },
      ),
      { numRuns: 60 },
    );
  });
});
