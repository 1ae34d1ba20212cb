import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { DependencyUnavailable, ProofRejected } from '../attestor';
import type { AzureCloud, AzureVmNetwork } from '../azure/ports';
import { azureMsiAttestor, type AzureMsiConfig } from './azure-msi.attestor';
import { SigningKeys } from './signing-keys';
import { AUTHORITY, fakeKeySource, OTHER_TENANT, PRINCIPAL, signRs256, SUBSCRIPTION, TENANT, testTenant, unsignedJwt, vmClaims } from './testing/tokens';

const NETWORK: AzureVmNetwork = {
  securityGroups: [{ resourceGroup: 'frontend', name: 'webservers' }],
  virtualNetworks: [{ resourceGroup: 'frontend', name: 'vnet' }],
  subnets: [{ resourceGroup: 'frontend', virtualNetwork: 'vnet', name: 'default' }],
};

const tenant = testTenant();
const other = testTenant();
const CONFIG: AzureMsiConfig = { tenants: [{ id: TENANT }] };

function setup(cloud: Partial<AzureCloud> = {}) {
  const source = fakeKeySource({ [TENANT]: tenant, [OTHER_TENANT]: other });
  const lookups: string[] = [];
  const attestor = azureMsiAttestor({
    cloud: { vmNetwork: async (vm) => (lookups.push(`${vm.tenantId}/${vm.subscriptionId}/${vm.resourceGroup}/${vm.name}`), NETWORK), ...cloud },
    keys: new SigningKeys(source),
    authorityHost: AUTHORITY,
  });
  return { attestor, source, lookups };
}

const verify = (token: string, config = CONFIG, attestor = setup().attestor) => attestor.verify({ token }, config, { now: new Date() });

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProofRejected) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('azure_msi attestor', () => {
  it("emits tenant, principal, VM and network attributes, SPIRE's selectors and the TOFU key", async () => {
    const { attestor, lookups } = setup();
    const verified = await verify(await signRs256(tenant, vmClaims()), CONFIG, attestor);
    expect(verified.attributes).toEqual({
      'tenant.id': [TENANT],
      'principal.id': [PRINCIPAL],
      'subscription.id': [SUBSCRIPTION],
      'vm.name': ['blog'],
      'vm.resource_group': ['frontend'],
      'network.security_group': ['frontend:webservers'],
      'network.virtual_network': ['frontend:vnet'],
      'network.subnet': ['frontend:vnet:default'],
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
    expect(await reason(verify(await signRs256(tenant, vmClaims()), config))).toBe("azure_msi: token audience is not the tenant's resourceId");
  });

  it('gives a user-assigned identity its subscription but no VM or network, without asking ARM', async () => {
    const { attestor, lookups } = setup();
    const mirid = `/subscriptions/${SUBSCRIPTION}/resourcegroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/blog-id`;
    const verified = await verify(await signRs256(tenant, vmClaims({ xms_mirid: mirid })), CONFIG, attestor);
    expect(verified.attributes).toEqual({ 'tenant.id': [TENANT], 'principal.id': [PRINCIPAL], 'subscription.id': [SUBSCRIPTION] });
    expect(verified.selectors).toEqual([`subscription-id:${SUBSCRIPTION}`]);
    expect(lookups).toEqual([]);
  });

  it('rejects alg none', async () => {
    const token = unsignedJwt({ alg: 'none', kid: tenant.kid }, vmClaims());
    expect(await reason(verify(token))).toBe('azure_msi: token algorithm "none" is not allowed (only RS256)');
  });

  it('rejects HS256 signed with a secret', async () => {
    const token = await new SignJWT(vmClaims()).setProtectedHeader({ alg: 'HS256', kid: tenant.kid }).sign(new TextEncoder().encode('a-shared-secret-of-enough-length!!'));
    expect(await reason(verify(token))).toBe('azure_msi: token algorithm "HS256" is not allowed (only RS256)');
  });

  it("rejects HS256 keyed with the tenant's public key (algorithm confusion)", async () => {
    const pem = tenant.publicKey.export({ type: 'spki', format: 'pem' });
    const unsigned = unsignedJwt({ alg: 'HS256', kid: tenant.kid }, vmClaims()).slice(0, -1);
    const token = `${unsigned}.${createHmac('sha256', pem).update(unsigned).digest('base64url')}`;
    expect(await reason(verify(token))).toBe('azure_msi: token algorithm "HS256" is not allowed (only RS256)');
  });

  it('rejects any other algorithm (RS512)', async () => {
    const token = await new SignJWT(vmClaims()).setProtectedHeader({ alg: 'RS512', kid: tenant.kid }).sign(tenant.privateKey);
    expect(await reason(verify(token))).toBe('azure_msi: token algorithm "RS512" is not allowed (only RS256)');
  });

  it.each(['jwk', 'jku', 'x5u'])('rejects a token whose header carries %s', async (name) => {
    const token = await signRs256(tenant, vmClaims(), { [name]: name === 'jwk' ? { kty: 'RSA', n: 'AQAB', e: 'AQAB' } : 'https://attacker.example/keys' });
    expect(await reason(verify(token))).toBe(`azure_msi: token header must not carry ${name}`);
  });

  it("rejects a tenant the policy does not list, without fetching that tenant's keys", async () => {
    const { attestor, source } = setup();
    const token = await signRs256(other, vmClaims({ tid: OTHER_TENANT, iss: `${AUTHORITY}/${OTHER_TENANT}/v2.0` }));
    expect(await reason(verify(token, CONFIG, attestor))).toBe(`azure_msi: tenant ${OTHER_TENANT} is not allowed by this policy`);
    expect(source.fetches).toEqual([]);
  });

  it('rejects an issuer that is not the tenant’s', async () => {
    const token = await signRs256(tenant, vmClaims({ iss: `${AUTHORITY}/${OTHER_TENANT}/v2.0` }));
    expect(await reason(verify(token))).toBe('azure_msi: token issuer does not match its tenant');
  });

  it('rejects a wrong audience', async () => {
    expect(await reason(verify(await signRs256(tenant, vmClaims({ aud: 'https://vault.azure.net' }))))).toBe("azure_msi: token audience is not the tenant's resourceId");
  });

  it('rejects an expired token beyond five minutes of skew, and accepts one within', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await reason(verify(await signRs256(tenant, vmClaims({ exp: now - 301 }))))).toBe('azure_msi: token has expired');
    await expect(verify(await signRs256(tenant, vmClaims({ exp: now - 200 })))).resolves.toBeDefined();
  });

  it('rejects a token not valid for more than five minutes yet', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await reason(verify(await signRs256(tenant, vmClaims({ nbf: now + 600, iat: now + 600, exp: now + 4200 }))))).toBe('azure_msi: token is not valid yet');
  });

  it('rejects an unknown kid', async () => {
    const token = await signRs256(tenant, vmClaims(), { kid: 'no-such-key' });
    expect(await reason(verify(token))).toBe(`azure_msi: no signing key no-such-key in the metadata of tenant ${TENANT}`);
  });

  it('rejects a token signed by another key under a known kid', async () => {
    const token = await signRs256(other, vmClaims(), { kid: tenant.kid });
    expect(await reason(verify(token))).toBe('azure_msi: token signature does not verify');
  });

  it('rejects a tampered payload', async () => {
    const [header, , signature] = (await signRs256(tenant, vmClaims())).split('.');
    const payload = Buffer.from(JSON.stringify(vmClaims({ oid: '00000000-0000-4000-8000-000000000001' }))).toString('base64url');
    expect(await reason(verify(`${header}.${payload}.${signature}`))).toBe('azure_msi: token signature does not verify');
  });

  it('rejects a string that is not a JWT', async () => {
    expect(await reason(verify('not.a-jwt'))).toBe('azure_msi: token is not a JWT');
  });

  it('rejects a token without an object ID', async () => {
    expect(await reason(verify(await signRs256(tenant, vmClaims({ oid: undefined }))))).toBe('azure_msi: token has no object ID (oid) claim');
  });

  it('rejects a token whose VM does not exist', async () => {
    const { attestor } = setup({ vmNetwork: async () => null });
    expect(await reason(verify(await signRs256(tenant, vmClaims()), CONFIG, attestor))).toBe(
      `azure_msi: virtual machine blog does not exist in resource group frontend of subscription ${SUBSCRIPTION}`,
    );
  });

  it('fails closed when Azure is unreachable', async () => {
    const { attestor } = setup({ vmNetwork: async () => Promise.reject(new DependencyUnavailable('azure: virtualMachines.get unavailable')) });
    await expect(verify(await signRs256(tenant, vmClaims()), CONFIG, attestor)).rejects.toBeInstanceOf(DependencyUnavailable);
  });
});
