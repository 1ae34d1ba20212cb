import { decodeJwt } from 'jose';
import { AzureWorld, startAzureImds, type RunningHttp } from '@libs/testing/azure-simulator';
import { azureWorldInit, BLOG_PRINCIPAL_ID, SUBSCRIPTION_ID } from '@libs/testing/azure-simulator/fixtures';
import { UsageError } from '@libs/cli-support/usage';
import { parseCommandLine } from '../cli';
import { createCollector } from './index';

describe('azure_msi collector', () => {
  const world = new AzureWorld(azureWorldInit());
  let imds: RunningHttp;
  beforeAll(async () => {
    imds = await startAzureImds(world, world.vm(SUBSCRIPTION_ID, 'frontend', 'blog')!, {
      authority: 'https://login.microsoftonline.com',
    });
  });
  afterAll(() => imds?.close());

  it("sends the VM identity's token from IMDS, asked for ARM by default", async () => {
    const proof = (await createCollector('azure_msi', { azureImdsEndpoint: imds.url }).collect({})) as {
      token: string;
    };
    expect(Object.keys(proof)).toEqual(['token']);
    expect(decodeJwt(proof.token)).toMatchObject({ oid: BLOG_PRINCIPAL_ID, aud: 'https://management.azure.com/' });
  });

  it('asks for the resource it is given', async () => {
    const proof = (await createCollector('azure_msi', {
      azureImdsEndpoint: imds.url,
      azureResource: 'api://attestd',
    }).collect({})) as { token: string };
    expect(decodeJwt(proof.token).aud).toBe('api://attestd');
  });

  it('names the metadata service when it cannot be reached', async () => {
    await expect(createCollector('azure_msi', { azureImdsEndpoint: 'http://127.0.0.1:1' }).collect({})).rejects.toThrow(
      'azure_msi: cannot reach the instance metadata service at http://127.0.0.1:1',
    );
  });

  it("reports IMDS's refusal", async () => {
    const collector = createCollector('azure_msi', { azureImdsEndpoint: `${imds.url}/elsewhere` });
    await expect(collector.collect({})).rejects.toThrow('azure_msi: instance metadata service answered 404');
  });
});

describe('agent flags for azure_msi', () => {
  const base = ['login', '--server', 'https://attestd.example', '--out', '/tmp/x'];

  it('reads --azure-imds-endpoint and --azure-resource', () => {
    const command = parseCommandLine([
      ...base,
      '--attestor',
      'azure_msi',
      '--azure-imds-endpoint',
      'http://127.0.0.1:9',
      '--azure-resource',
      'api://attestd',
    ]);
    expect(command).toMatchObject({
      name: 'login',
      options: { attestors: ['azure_msi'], azureImdsEndpoint: 'http://127.0.0.1:9', azureResource: 'api://attestd' },
    });
  });

  it('refuses them without --attestor azure_msi, and a bad endpoint', () => {
    const parse = () =>
      parseCommandLine([
        ...base,
        '--attestor',
        'join_token',
        '--token',
        't',
        '--azure-imds-endpoint',
        'ftp://x',
        '--azure-resource',
        'r',
      ]);
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(
      '--azure-imds-endpoint must be an http:// or https:// URL, got "ftp://x"; --azure-imds-endpoint is only used with --attestor azure_msi; --azure-resource is only used with --attestor azure_msi',
    );
  });
});
