import { ClientSecretCredential } from '@azure/identity';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import {
  AZURE_CLI_CLIENT_ID,
  startAzureImds,
  startAzureSimulator,
  type AzureSimulator,
  type RunningHttp,
} from './index';
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
    await imds?.close();
    await sim?.close();
  });

  const secret = () => sim.world.servicePrincipal(TENANT_ID, CLIENT_ID)!.clientSecret;
  const armToken = async () =>
    (
      await new ClientSecretCredential(TENANT_ID, CLIENT_ID, secret(), {
        authorityHost: sim.url,
        disableInstanceDiscovery: true,
      }).getToken(`${sim.url}/.default`)
    ).token;
  const arm = (token?: string) =>
    fetch(`${sim.url}${VM_PATH}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('signs @azure/identity in with client credentials, and ARM accepts the token', async () => {
    const response = await arm(await armToken());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      name: 'blog',
      properties: {
        networkProfile: { networkInterfaces: [{ id: expect.stringMatching(/networkInterfaces\/blog-nic$/) }] },
      },
    });
  });

  it('refuses a wrong client secret', async () => {
    const credential = new ClientSecretCredential(TENANT_ID, CLIENT_ID, 'wrong', {
      authorityHost: sim.url,
      disableInstanceDiscovery: true,
      retryOptions: { maxRetries: 0 },
    });
    await expect(credential.getToken(`${sim.url}/.default`)).rejects.toThrow(/AADSTS7000215/);
  });

  it('answers 401 to ARM requests without a token or with one it did not issue', async () => {
    expect((await arm()).status).toBe(401);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT({ tid: TENANT_ID, aud: sim.url, iss: `${sim.url}/${TENANT_ID}/v2.0` })
      .setProtectedHeader({ alg: 'RS256', kid: sim.world.signingKeys(TENANT_ID)[0]!.kid })
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await arm(forged)).status).toBe(401);
  });

  it('answers ResourceNotFound for an unknown VM and 503 while ARM is down', async () => {
    const token = await armToken();
    const missing = await fetch(`${sim.url}${VM_PATH.replace('/blog?', '/ghost?')}`, {
      headers: { authorization: `Bearer ${token}` },
    });
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
    expect(await response.json()).toMatchObject({
      token_type: 'Bearer',
      resource: 'https://management.azure.com/',
      expires_on: expect.stringMatching(/^\d+$/),
      access_token: expect.any(String),
    });
  });

  it('publishes the OpenID metadata and keys of a tenant, keeping old keys after a roll', async () => {
    const metadata = (await (await fetch(`${sim.url}/${TENANT_ID}/v2.0/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
      issuer: string;
    };
    expect(metadata.issuer).toBe(`${sim.url}/${TENANT_ID}/v2.0`);
    const before = sim.world.signingKeys(TENANT_ID).map((k) => k.kid);
    const rolled = sim.world.rollKeys(TENANT_ID);
    const keys = (await (await fetch(metadata.jwks_uri)).json()) as { keys: { kid: string }[] };
    expect(keys.keys.map((k) => k.kid)).toEqual([rolled.kid, ...before]);
  });

  describe('each kind of principal, signed RS256 by the tenant key as Entra signs it', () => {
    const ARM = 'https://management.azure.com/';
    const imdsToken = async (url: string, query = '') => {
      const response = await fetch(
        `${url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(ARM)}${query}`,
        { headers: { Metadata: 'true' } },
      );
      return {
        status: response.status,
        body: (await response.json()) as { access_token?: string; client_id?: string; error_description?: string },
      };
    };
    const tokenEndpoint = (form: Record<string, string>) =>
      fetch(`${sim.url}/${TENANT_ID}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
      });
    const signedByTenant = (token: string) => {
      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: sim.world.signingKeys(TENANT_ID)[0]!.kid });
      return decodeJwt(token);
    };

    it("issues a user's delegated token through the password grant, as az login gets one", async () => {
      const user = sim.world.addUser({
        tenantId: TENANT_ID,
        userPrincipalName: 'alice@contoso.example',
        password: 'correct-horse-battery-staple',
      });
      const response = await tokenEndpoint({
        grant_type: 'password',
        client_id: AZURE_CLI_CLIENT_ID,
        username: user.userPrincipalName,
        password: user.password,
        scope: `${ARM}/.default openid profile`,
      });
      expect(response.status).toBe(200);
      const claims = signedByTenant(((await response.json()) as { access_token: string }).access_token);
      expect(claims).toMatchObject({
        aud: ARM,
        tid: TENANT_ID,
        oid: user.objectId,
        idtyp: 'user',
        scp: 'user_impersonation',
        upn: 'alice@contoso.example',
        azp: AZURE_CLI_CLIENT_ID,
        azpacr: '0',
      });
      expect(claims.sub).not.toBe(user.objectId);
      expect(claims.xms_mirid).toBeUndefined();
      const wrong = await tokenEndpoint({
        grant_type: 'password',
        client_id: AZURE_CLI_CLIENT_ID,
        username: user.userPrincipalName,
        password: 'guess',
        scope: `${ARM}/.default`,
      });
      expect(wrong.status).toBe(400);
      expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    });

    it("issues a service principal's client-secret token for ARM's audience, without managed-identity claims", async () => {
      const response = await tokenEndpoint({
        grant_type: 'client_credentials',
        client_id: CLIENT_ID,
        client_secret: secret(),
        scope: `${ARM}/.default`,
      });
      const claims = signedByTenant(((await response.json()) as { access_token: string }).access_token);
      expect(claims).toMatchObject({ aud: ARM, oid: CLIENT_ID, idtyp: 'app', azpacr: '1' });
      expect(claims.xms_mirid).toBeUndefined();
    });

    it("issues a VM's system-assigned identity token through IMDS: xms_mirid names the VM", async () => {
      const vm = sim.world.vm(SUBSCRIPTION_ID, 'frontend', 'blog')!;
      const { body } = await imdsToken(imds.url);
      expect(body.client_id).toBe(vm.clientId);
      const claims = signedByTenant(body.access_token!);
      expect(claims).toMatchObject({
        oid: vm.principalId,
        sub: vm.principalId,
        idtyp: 'app',
        azpacr: '2',
        xms_mirid: `/subscriptions/${SUBSCRIPTION_ID}/resourcegroups/frontend/providers/Microsoft.Compute/virtualMachines/blog`,
      });
      expect(claims.xms_az_rid).toBeUndefined();
    });

    it('issues a user-assigned identity token through IMDS: xms_mirid names the identity, xms_az_rid the VM; ARM lists it on the VM', async () => {
      const identity = sim.world.addUserAssignedIdentity({
        tenantId: TENANT_ID,
        subscriptionId: SUBSCRIPTION_ID,
        resourceGroup: 'identities',
        name: 'web-nodes',
      });
      const second = sim.world.addUserAssignedIdentity({
        tenantId: TENANT_ID,
        subscriptionId: SUBSCRIPTION_ID,
        resourceGroup: 'identities',
        name: 'batch',
      });
      const vm = sim.world.addVm({
        tenantId: TENANT_ID,
        subscriptionId: SUBSCRIPTION_ID,
        resourceGroup: 'frontend',
        name: 'api',
        systemAssigned: false,
        userAssignedIdentities: [identity.resourceId],
      });
      const vmImds = await startAzureImds(sim.world, vm, { authority: sim.url });
      try {
        const { body } = await imdsToken(vmImds.url);
        expect(signedByTenant(body.access_token!)).toMatchObject({
          oid: identity.principalId,
          azp: identity.clientId,
          xms_mirid: `/subscriptions/${SUBSCRIPTION_ID}/resourcegroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-nodes`,
          xms_az_rid: `/subscriptions/${SUBSCRIPTION_ID}/resourcegroups/frontend/providers/Microsoft.Compute/virtualMachines/api`,
        });
        vm.userAssignedIdentities.push(second.resourceId);
        expect(await imdsToken(vmImds.url)).toMatchObject({
          status: 400,
          body: { error_description: expect.stringMatching(/^Multiple user assigned identities exist/) },
        });
        expect(
          signedByTenant((await imdsToken(vmImds.url, `&client_id=${second.clientId}`)).body.access_token!),
        ).toMatchObject({ oid: second.principalId });
        expect(
          signedByTenant(
            (await imdsToken(vmImds.url, `&msi_res_id=${encodeURIComponent(identity.resourceId)}`)).body.access_token!,
          ),
        ).toMatchObject({ oid: identity.principalId });
        const arm = await fetch(`${sim.url}${VM_PATH.replace('/blog?', '/api?')}`, {
          headers: { authorization: `Bearer ${await armToken()}` },
        });
        expect(await arm.json()).toMatchObject({
          identity: {
            type: 'UserAssigned',
            userAssignedIdentities: {
              [`/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-nodes`]:
                { principalId: identity.principalId },
            },
          },
        });
      } finally {
        await vmImds.close();
      }
    });

    it('issues v1 tokens (sts.windows.net issuer) with appid, appidacr and x5t, as ARM receives them', async () => {
      const vmImds = await startAzureImds(sim.world, sim.world.vm(SUBSCRIPTION_ID, 'frontend', 'blog')!, {
        authority: sim.url,
        mint: { issuer: 'v1' },
      });
      try {
        const token = (await imdsToken(vmImds.url)).body.access_token!;
        expect(decodeProtectedHeader(token)).toMatchObject({ x5t: sim.world.signingKeys(TENANT_ID)[0]!.kid });
        expect(decodeJwt(token)).toMatchObject({
          iss: `https://sts.windows.net/${TENANT_ID}/`,
          ver: '1.0',
          appidacr: '2',
        });
      } finally {
        await vmImds.close();
      }
    });
  });
});
