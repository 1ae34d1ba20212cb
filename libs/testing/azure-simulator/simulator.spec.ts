import { ClientSecretCredential } from '@azure/identity';
import { SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { startAzureImds, startAzureSimulator, type AzureSimulator, type RunningHttp } from './index';
import { azureWorldInit, SUBSCRIPTION_ID, TENANT_ID } from './fixtures';

const CLIENT_ID = '11111111-2222-4333-8444-555555555555';
const VM_PATH = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/frontend/providers/Microsoft.Compute/virtualMachines/blog?api-version=2026-04-01`;

describe('azure-simulator', () => {
  let sim: AzureSimulator;
  let imds: RunningHttp;
  beforeAll(async () => {
    sim = await startAzureSimulator(azureWorldInit());
    imds = await startAzureImds(sim.world, sim.world.vm(SUBSCRIPTION_ID, 'frontend', 'blog')!, { authority: sim.url });
  });
  afterAll(async () => {
    await imds.close();
    await sim.close();
  });

  const secret = () => sim.world.servicePrincipal(TENANT_ID, CLIENT_ID)!.clientSecret;
  const armToken = async () =>
    (await new ClientSecretCredential(TENANT_ID, CLIENT_ID, secret(), { authorityHost: sim.url, disableInstanceDiscovery: true }).getToken(`${sim.url}/.default`)).token;
  const arm = (token?: string) => fetch(`${sim.url}${VM_PATH}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('signs @azure/identity in with client credentials, and ARM accepts the token', async () => {
    const response = await arm(await armToken());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name: 'blog', properties: { networkProfile: { networkInterfaces: [{ id: expect.stringMatching(/networkInterfaces\/blog-nic$/) }] } } });
  });

  it('refuses a wrong client secret', async () => {
    const credential = new ClientSecretCredential(TENANT_ID, CLIENT_ID, 'wrong', { authorityHost: sim.url, disableInstanceDiscovery: true, retryOptions: { maxRetries: 0 } });
    await expect(credential.getToken(`${sim.url}/.default`)).rejects.toThrow(/AADSTS7000215/);
  });

  it('answers 401 to ARM requests without a token or with one it did not issue', async () => {
    expect((await arm()).status).toBe(401);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT({ tid: TENANT_ID, aud: sim.url, iss: `${sim.url}/${TENANT_ID}/v2.0` }).setProtectedHeader({ alg: 'RS256', kid: sim.world.signingKeys(TENANT_ID)[0]!.kid }).setExpirationTime('1h').sign(privateKey);
    expect((await arm(forged)).status).toBe(401);
  });

  it('answers ResourceNotFound for an unknown VM and 503 while ARM is down', async () => {
    const token = await armToken();
    const missing = await fetch(`${sim.url}${VM_PATH.replace('/blog?', '/ghost?')}`, { headers: { authorization: `Bearer ${token}` } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'ResourceNotFound' } });
    sim.world.setDown('arm', true);
    try {
      expect((await arm(token)).status).toBe(503);
    } finally {
      sim.world.clearFaults();
    }
  });

  it("serves IMDS's token response only with the Metadata header", async () => {
    const url = `${imds.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent('https://management.azure.com/')}`;
    expect((await fetch(url)).status).toBe(400);
    const response = await fetch(url, { headers: { Metadata: 'true' } });
    expect(await response.json()).toMatchObject({ token_type: 'Bearer', resource: 'https://management.azure.com/', expires_on: expect.stringMatching(/^\d+$/), access_token: expect.any(String) });
  });

  it('publishes the OpenID metadata and keys of a tenant, keeping old keys after a roll', async () => {
    const metadata = (await (await fetch(`${sim.url}/${TENANT_ID}/v2.0/.well-known/openid-configuration`)).json()) as { jwks_uri: string; issuer: string };
    expect(metadata.issuer).toBe(`${sim.url}/${TENANT_ID}/v2.0`);
    const before = sim.world.signingKeys(TENANT_ID).map((k) => k.kid);
    const rolled = sim.world.rollKeys(TENANT_ID);
    const keys = (await (await fetch(metadata.jwks_uri)).json()) as { keys: { kid: string }[] };
    expect(keys.keys.map((k) => k.kid)).toEqual([rolled.kid, ...before]);
  });
});
