import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from './settings';
import { temporaryDirectories } from '@test/support/temp-directories';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

describe('Azure settings', () => {
  const tempDir = temporaryDirectories();
  it("defaults to Azure's public cloud and DefaultAzureCredential", () => {
    expect(loadSettings({}).azure).toEqual({
      authorityHost: 'https://login.microsoftonline.com',
      resourceManagerEndpoint: 'https://management.azure.com',
      tenants: [],
    });
  });

  it('reads a sovereign cloud and per-tenant client secrets from the environment (secrets may hold colons)', () => {
    const settings = loadSettings({
      ATTESTD_AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us/',
      ATTESTD_AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://management.usgovcloudapi.net',
      ATTESTD_AZURE_TENANTS: `${TENANT}:app-1:se:cret`,
    });
    expect(settings.azure).toEqual({
      authorityHost: 'https://login.microsoftonline.us',
      resourceManagerEndpoint: 'https://management.usgovcloudapi.net',
      tenants: [{ tenantId: TENANT, clientId: 'app-1', clientSecret: 'se:cret' }],
    });
  });

  it('reads client secrets in object form from the settings file', () => {
    const file = join(tempDir('azure-settings-'), 'attestd.yaml');
    writeFileSync(file, `azure:\n  tenants:\n    - { tenantId: ${TENANT}, clientId: app-2, clientSecret: s3cret }\n`);
    expect(loadSettings({}, file).azure.tenants).toEqual([
      { tenantId: TENANT, clientId: 'app-2', clientSecret: 's3cret' },
    ]);
  });

  it.each([
    [
      { ATTESTD_AZURE_AUTHORITY_HOST: 'http://login.microsoftonline.com' },
      /azure\.authorityHost \(ATTESTD_AZURE_AUTHORITY_HOST\)/,
    ],
    [
      { ATTESTD_AZURE_RESOURCE_MANAGER_ENDPOINT: 'management.azure.com' },
      /azure\.resourceManagerEndpoint \(ATTESTD_AZURE_RESOURCE_MANAGER_ENDPOINT\)/,
    ],
    [
      { ATTESTD_AZURE_TENANTS: 'not-a-tenant' },
      /azure\.tenants \(ATTESTD_AZURE_TENANTS\): entry 1 must be TENANT_ID:CLIENT_ID:CLIENT_SECRET/,
    ],
  ])('refuses %j naming the setting', (env, message) => {
    expect(() => loadSettings(env)).toThrow(message);
  });
});
