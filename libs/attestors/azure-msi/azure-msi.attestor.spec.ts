import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { DependencyUnavailable } from '../attestor';
import type { AzureCloud, AzureVmNetwork } from '../azure/ports';
import { azureMsiAttestor, type AzureMsiConfig } from './azure-msi.attestor';
import { SigningKeys } from './signing-keys';
import {
  appClaims,
  AUTHORITY,
  fakeKeySource,
  IDENTITY_RESOURCE_ID,
  OTHER_TENANT,
  PRINCIPAL,
  signRs256,
  SUBSCRIPTION,
  TENANT,
  testTenant,
  unsignedJwt,
  userAssignedClaims,
  userClaims,
  vmClaims,
} from './testing/tokens';
import { rejectionReason } from '../testing/rejection';

const NETWORK: AzureVmNetwork = {
  securityGroups: [{ resourceGroup: 'frontend', name: 'webservers' }],
  virtualNetworks: [{ resourceGroup: 'frontend', name: 'vnet' }],
  subnets: [{ resourceGroup: 'frontend', virtualNetwork: 'vnet', name: 'default' }],
};

/** What the `blog` VM and its network give either kind of identity. */
const BLOG_ATTRIBUTES = {
  'subscription.id': [SUBSCRIPTION],
  'vm.name': ['blog'],
  'vm.resource_group': ['frontend'],
  'network.security_group': ['frontend:webservers'],
  'network.virtual_network': ['frontend:vnet'],
  'network.subnet': ['frontend:vnet:default'],
};

const tenant = testTenant();
const other = testTenant();
const CONFIG: AzureMsiConfig = { tenants: [{ id: TENANT }] };

function setup(cloud: Partial<AzureCloud> = {}) {
  const source = fakeKeySource({ [TENANT]: tenant, [OTHER_TENANT]: other });
  const lookups: string[] = [];
  const attestor = azureMsiAttestor({
    cloud: {
      vmNetwork: async (vm) => (
        lookups.push(`${vm.tenantId}/${vm.subscriptionId}/${vm.resourceGroup}/${vm.name}`),
        NETWORK
      ),
      ...cloud,
    },
    keys: new SigningKeys(source),
    authorityHost: AUTHORITY,
  });
  return { attestor, source, lookups };
}

const verify = (token: string, config = CONFIG, attestor = setup().attestor) =>
  attestor.verify({ token }, config, { now: new Date() });

describe('azure_msi attestor', () => {
  it("emits tenant, principal, VM and network attributes, SPIRE's selectors and the TOFU key", async () => {
    const { attestor, lookups } = setup();
    const verified = await verify(await signRs256(tenant, vmClaims()), CONFIG, attestor);
    expect(verified.attributes).toEqual({
      'tenant.id': [TENANT],
      'principal.id': [PRINCIPAL],
      'identity.type': ['system_assigned'],
      ...BLOG_ATTRIBUTES,
    });
    expect(verified.selectors).toEqual([
      `subscription-id:${SUBSCRIPTION}`,
      'vm-name:frontend:blog',
      'network-security-group:frontend:webservers',
      'virtual-network:frontend:vnet',
      'virtual-network-subnet:frontend:vnet:default',
    ]);
    expect(verified.tofuKey).toBe(`azure_msi/${TENANT}/${PRINCIPAL}`);
    expect(lookups).toEqual([`${TENANT}/${SUBSCRIPTION}/frontend/blog`]);
  });

  it('accepts the v1 issuer https://sts.windows.net/{tenant}/', async () => {
    const verified = await verify(await signRs256(tenant, vmClaims({ iss: `https://sts.windows.net/${TENANT}/` })));
    expect(verified.attributes['tenant.id']).toEqual([TENANT]);
  });

  it("checks the audience against the tenant's resourceId when the policy sets one", async () => {
    const config = { tenants: [{ id: TENANT, resourceId: 'api://attestd' }] };
    await expect(verify(await signRs256(tenant, vmClaims({ aud: 'api://attestd' })), config)).resolves.toBeDefined();
    expect(await rejectionReason(verify(await signRs256(tenant, vmClaims()), config))).toBe(
      "azure_msi: token audience is not the tenant's resourceId",
    );
  });

  it('gives a user-assigned identity the VM that asked for it (xms_az_rid), with its networks, and names the identity', async () => {
    const { attestor, lookups } = setup();
    const verified = await verify(await signRs256(tenant, userAssignedClaims()), CONFIG, attestor);
    expect(verified.attributes).toEqual({
      'tenant.id': [TENANT],
      'principal.id': [PRINCIPAL],
      'identity.type': ['user_assigned'],
      'identity.name': ['web-nodes'],
      'identity.resource_group': ['identities'],
      ...BLOG_ATTRIBUTES,
    });
    expect(verified.selectors).toEqual(
      expect.arrayContaining([`subscription-id:${SUBSCRIPTION}`, 'vm-name:frontend:blog']),
    );
    expect(verified.tofuKey).toBe(`azure_msi/${TENANT}/${PRINCIPAL}`);
    expect(lookups).toEqual([`${TENANT}/${SUBSCRIPTION}/frontend/blog`]);
  });

  it('takes the subscription of the VM, not of the user-assigned identity, when they differ', async () => {
    const vmElsewhere =
      '/subscriptions/0f0e0d0c-0b0a-4908-8706-050403020100/resourcegroups/edge/providers/Microsoft.Compute/virtualMachines/gw-1';
    const { attestor, lookups } = setup();
    const verified = await verify(
      await signRs256(tenant, userAssignedClaims({ xms_az_rid: vmElsewhere })),
      CONFIG,
      attestor,
    );
    expect(verified.attributes).toMatchObject({
      'subscription.id': ['0f0e0d0c-0b0a-4908-8706-050403020100'],
      'vm.name': ['gw-1'],
      'identity.resource_group': ['identities'],
    });
    expect(lookups).toEqual([`${TENANT}/0f0e0d0c-0b0a-4908-8706-050403020100/edge/gw-1`]);
  });

  describe('refuses every principal that is not a virtual machine’s managed identity, before asking ARM', () => {
    const refused: [string, () => Record<string, unknown>, string][] = [
      [
        "a user's token from az login (idtyp user, scp, upn)",
        () => userClaims(),
        "token is not a managed identity's: it is a user's delegated token (scp claim)",
      ],
      [
        'a user token without idtyp, by its scp',
        () => userClaims({ idtyp: undefined, upn: undefined, unique_name: undefined }),
        "token is not a managed identity's: it is a user's delegated token (scp claim)",
      ],
      [
        'a user token marked only by idtyp',
        () => userClaims({ scp: undefined, upn: undefined, unique_name: undefined }),
        "token is not a managed identity's: it is a user's delegated token (idtyp user)",
      ],
      [
        "a user's token that carries an xms_mirid it should not have",
        () => userClaims({ xms_mirid: IDENTITY_RESOURCE_ID }),
        "token is not a managed identity's: it is a user's delegated token (scp claim)",
      ],
      [
        "a service principal's client-secret token (idtyp app, no xms_mirid)",
        () => appClaims(),
        "token is not a managed identity's: it has no xms_mirid claim (an application's or a user's token)",
      ],
      [
        'an app token without idtyp',
        () => appClaims({ idtyp: undefined }),
        "token is not a managed identity's: it has no xms_mirid claim (an application's or a user's token)",
      ],
      [
        'a token of another idtyp',
        () => vmClaims({ idtyp: 'device' }),
        `token is not a managed identity's: its idtyp is "device", not app`,
      ],
      [
        "an App Service's system-assigned identity",
        () =>
          vmClaims({
            xms_mirid: `/subscriptions/${SUBSCRIPTION}/resourcegroups/web/providers/Microsoft.Web/sites/shop`,
          }),
        "token is not a virtual machine's managed identity: the identity of a Microsoft.Web/sites resource (xms_mirid)",
      ],
      [
        "a scale set's system-assigned identity, shared by all its instances",
        () =>
          vmClaims({
            xms_mirid: `/subscriptions/${SUBSCRIPTION}/resourcegroups/aks/providers/Microsoft.Compute/virtualMachineScaleSets/pool`,
          }),
        "token is not a virtual machine's managed identity: the identity of a Microsoft.Compute/virtualMachineScaleSets resource (xms_mirid)",
      ],
      [
        'a child resource that only looks like a VM',
        () =>
          vmClaims({
            xms_mirid: `/subscriptions/${SUBSCRIPTION}/resourcegroups/aks/providers/Microsoft.Compute/virtualMachineScaleSets/pool/virtualMachines/0`,
          }),
        "token is not a virtual machine's managed identity: the identity of a Microsoft.Compute/virtualMachineScaleSets/… resource (xms_mirid)",
      ],
      [
        'a user-assigned identity token that names no VM (workload identity federation, or a resource without xms_az_rid)',
        () => userAssignedClaims({ xms_az_rid: undefined }),
        "token is not a virtual machine's managed identity: a user-assigned identity token that names no virtual machine (no xms_az_rid claim)",
      ],
      [
        'a user-assigned identity token issued to a scale set',
        () =>
          userAssignedClaims({
            xms_az_rid: `/subscriptions/${SUBSCRIPTION}/resourcegroups/aks/providers/Microsoft.Compute/virtualMachineScaleSets/pool`,
          }),
        "token is not a virtual machine's managed identity: a user-assigned identity token issued to a Microsoft.Compute/virtualMachineScaleSets resource (xms_az_rid)",
      ],
      [
        'a system-assigned token whose xms_az_rid names another VM',
        () =>
          vmClaims({
            xms_az_rid: `/subscriptions/${SUBSCRIPTION}/resourcegroups/frontend/providers/Microsoft.Compute/virtualMachines/other`,
          }),
        "token xms_az_rid names another resource than the VM's own identity (xms_mirid)",
      ],
      [
        'an xms_mirid that is no resource ID',
        () => vmClaims({ xms_mirid: '/subscriptions/x' }),
        'token xms_mirid is not an Azure resource ID',
      ],
      [
        'an xms_az_rid that is no resource ID',
        () => userAssignedClaims({ xms_az_rid: 'blog' }),
        'token xms_az_rid is not an Azure resource ID',
      ],
      [
        'an xms_mirid that is not a string',
        () => vmClaims({ xms_mirid: ['a'] }),
        'token xms_mirid claim is not a string',
      ],
    ];
    it.each(refused)('%s', async (_name, claims, why) => {
      const { attestor, lookups } = setup();
      expect(await rejectionReason(verify(await signRs256(tenant, claims()), CONFIG, attestor))).toBe(
        `azure_msi: ${why}`,
      );
      expect(lookups).toEqual([]);
    });

    it('accepts a system-assigned token whose xms_az_rid names its own VM (case as ARM compares)', async () => {
      const own = `/subscriptions/${SUBSCRIPTION.toUpperCase()}/resourceGroups/FRONTEND/providers/microsoft.compute/virtualmachines/BLOG`;
      await expect(verify(await signRs256(tenant, vmClaims({ xms_az_rid: own })))).resolves.toMatchObject({
        attributes: { 'identity.type': ['system_assigned'] },
      });
    });
  });

  it('rejects alg none', async () => {
    const token = unsignedJwt({ alg: 'none', kid: tenant.kid }, vmClaims());
    expect(await rejectionReason(verify(token))).toBe('azure_msi: token algorithm "none" is not allowed (only RS256)');
  });

  it('rejects HS256 signed with a secret', async () => {
    const token = await new SignJWT(vmClaims())
      .setProtectedHeader({ alg: 'HS256', kid: tenant.kid })
      .sign(new TextEncoder().encode('a-shared-secret-of-enough-length!!'));
    expect(await rejectionReason(verify(token))).toBe('azure_msi: token algorithm "HS256" is not allowed (only RS256)');
  });

  it("rejects HS256 keyed with the tenant's public key (algorithm confusion)", async () => {
    const pem = tenant.publicKey.export({ type: 'spki', format: 'pem' });
    const unsigned = unsignedJwt({ alg: 'HS256', kid: tenant.kid }, vmClaims()).slice(0, -1);
    const token = `${unsigned}.${createHmac('sha256', pem).update(unsigned).digest('base64url')}`;
    expect(await rejectionReason(verify(token))).toBe('azure_msi: token algorithm "HS256" is not allowed (only RS256)');
  });

  it('rejects any other algorithm (RS512)', async () => {
    const token = await new SignJWT(vmClaims())
      .setProtectedHeader({ alg: 'RS512', kid: tenant.kid })
      .sign(tenant.privateKey);
    expect(await rejectionReason(verify(token))).toBe('azure_msi: token algorithm "RS512" is not allowed (only RS256)');
  });

  it.each(['jwk', 'jku', 'x5u'])('rejects a token whose header carries %s', async (name) => {
    const token = await signRs256(tenant, vmClaims(), {
      [name]: name === 'jwk' ? { kty: 'RSA', n: 'AQAB', e: 'AQAB' } : 'https://attacker.example/keys',
    });
    expect(await rejectionReason(verify(token))).toBe(`azure_msi: token header must not carry ${name}`);
  });

  it("rejects a tenant the policy does not list, without fetching that tenant's keys", async () => {
    const { attestor, source } = setup();
    const token = await signRs256(other, vmClaims({ tid: OTHER_TENANT, iss: `${AUTHORITY}/${OTHER_TENANT}/v2.0` }));
    expect(await rejectionReason(verify(token, CONFIG, attestor))).toBe(
      `azure_msi: tenant ${OTHER_TENANT} is not allowed by this policy`,
    );
    expect(source.fetches).toEqual([]);
  });

  it('rejects an issuer that is not the tenant’s', async () => {
    const token = await signRs256(tenant, vmClaims({ iss: `${AUTHORITY}/${OTHER_TENANT}/v2.0` }));
    expect(await rejectionReason(verify(token))).toBe('azure_msi: token issuer does not match its tenant');
  });

  it('rejects a wrong audience', async () => {
    expect(await rejectionReason(verify(await signRs256(tenant, vmClaims({ aud: 'https://vault.azure.net' }))))).toBe(
      "azure_msi: token audience is not the tenant's resourceId",
    );
  });

  it('rejects an expired token beyond five minutes of skew, and accepts one within', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await rejectionReason(verify(await signRs256(tenant, vmClaims({ exp: now - 301 }))))).toBe(
      'azure_msi: token has expired',
    );
    await expect(verify(await signRs256(tenant, vmClaims({ exp: now - 200 })))).resolves.toBeDefined();
  });

  it('rejects a token not valid for more than five minutes yet', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(
      await rejectionReason(
        verify(await signRs256(tenant, vmClaims({ nbf: now + 600, iat: now + 600, exp: now + 4200 }))),
      ),
    ).toBe('azure_msi: token is not valid yet');
  });

  it('rejects an unknown kid', async () => {
    const token = await signRs256(tenant, vmClaims(), { kid: 'no-such-key' });
    expect(await rejectionReason(verify(token))).toBe(
      `azure_msi: no signing key no-such-key in the metadata of tenant ${TENANT}`,
    );
  });

  it('rejects a token signed by another key under a known kid', async () => {
    const token = await signRs256(other, vmClaims(), { kid: tenant.kid });
    expect(await rejectionReason(verify(token))).toBe('azure_msi: token signature does not verify');
  });

  it('rejects a tampered payload', async () => {
    const [header, , signature] = (await signRs256(tenant, vmClaims())).split('.');
    const payload = Buffer.from(JSON.stringify(vmClaims({ oid: '00000000-0000-4000-8000-000000000001' }))).toString(
      'base64url',
    );
    expect(await rejectionReason(verify(`${header}.${payload}.${signature}`))).toBe(
      'azure_msi: token signature does not verify',
    );
  });

  it('rejects a string that is not a JWT', async () => {
    expect(await rejectionReason(verify('not.a-jwt'))).toBe('azure_msi: token is not a JWT');
  });

  it('rejects a header whose kid is not printable ASCII', async () => {
    const token = await signRs256(tenant, vmClaims(), { kid: 'key\u0000one' });
    expect(await rejectionReason(verify(token))).toBe('azure_msi: token header has no kid of printable ASCII');
  });

  it('rejects a payload that is not a claims set', async () => {
    const [header, , signature] = (await signRs256(tenant, vmClaims())).split('.');
    const payload = Buffer.from('not json').toString('base64url');
    expect(await rejectionReason(verify(`${header}.${payload}.${signature}`))).toBe(
      'azure_msi: token payload is not a JWT claims set',
    );
  });

  it('rejects a token without a tenant ID', async () => {
    expect(await rejectionReason(verify(await signRs256(tenant, vmClaims({ tid: undefined }))))).toBe(
      'azure_msi: token has no tenant ID (tid) claim',
    );
  });

  it('rejects a token without exp', async () => {
    expect(await rejectionReason(verify(await signRs256(tenant, vmClaims({ exp: undefined }))))).toBe(
      'azure_msi: token claim exp is invalid',
    );
  });

  it('rejects a signature part that is not base64url', async () => {
    const [header, payload] = (await signRs256(tenant, vmClaims())).split('.');
    expect(await rejectionReason(verify(`${header}.${payload}.not*base64url`))).toBe(
      'azure_msi: token is invalid (ERR_JWS_INVALID)',
    );
  });

  it('rejects a token without an object ID', async () => {
    expect(await rejectionReason(verify(await signRs256(tenant, vmClaims({ oid: undefined }))))).toBe(
      'azure_msi: token has no object ID (oid) claim',
    );
  });

  it('rejects a token whose VM does not exist', async () => {
    const { attestor } = setup({ vmNetwork: async () => null });
    expect(await rejectionReason(verify(await signRs256(tenant, vmClaims()), CONFIG, attestor))).toBe(
      `azure_msi: virtual machine blog does not exist in resource group frontend of subscription ${SUBSCRIPTION}`,
    );
  });

  it('fails closed when Azure is unreachable', async () => {
    const { attestor } = setup({
      vmNetwork: async () => Promise.reject(new DependencyUnavailable('azure: virtualMachines.get unavailable')),
    });
    await expect(verify(await signRs256(tenant, vmClaims()), CONFIG, attestor)).rejects.toBeInstanceOf(
      DependencyUnavailable,
    );
  });
});
