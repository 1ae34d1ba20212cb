import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presignedGetCallerIdentity, sendRaw, SERVER_ACCOUNT, WEB_ROLE, worldInit } from './fixtures';
import {
  createIidSigner,
  identityDocument,
  startAwsSimulator,
  startImds,
  type AwsSimulator,
  type IidSigner,
  type Instance,
  type RunningHttp,
} from './index';

/** `openssl cms -verify` against the signer certificate as the only trust anchor; returns the verified content. */
function opensslVerify(signatureB64: string, certificatePem: string, detachedContent?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'iid-verify-'));
  try {
    writeFileSync(join(dir, 'sig.der'), Buffer.from(signatureB64.replace(/\s+/g, ''), 'base64'));
    writeFileSync(join(dir, 'ca.pem'), certificatePem);
    const args = [
      'cms',
      '-verify',
      '-inform',
      'DER',
      '-in',
      'sig.der',
      '-CAfile',
      'ca.pem',
      '-certfile',
      'ca.pem',
      '-binary',
      '-purpose',
      'any',
    ];
    if (detachedContent !== undefined) {
      writeFileSync(join(dir, 'content'), detachedContent);
      args.push('-content', 'content');
    }
    return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('aws-simulator imds', () => {
  let sim: AwsSimulator;
  let signer: IidSigner;
  let instance: Instance;
  let imds: RunningHttp;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
    signer = await createIidSigner();
    instance = sim.world.getInstance('i-0b22a22eec53b9321') as Instance;
    imds = await startImds(instance, signer, { world: sim.world });
  });
  afterAll(async () => {
    await imds?.close();
    await sim?.close();
  });

  async function token(ttl = '60'): Promise<string> {
    const res = await sendRaw(imds.url, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': ttl });
    expect(res.status).toBe(200);
    expect(res.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe(ttl);
    return res.body;
  }

  it('requires a session token (IMDSv2): 401 without or with a forged one', async () => {
    expect((await sendRaw(imds.url, 'GET', '/latest/dynamic/instance-identity/document', {})).status).toBe(401);
    expect(
      (
        await sendRaw(imds.url, 'GET', '/latest/dynamic/instance-identity/document', {
          'x-aws-ec2-metadata-token': 'forged',
        })
      ).status,
    ).toBe(401);
  });

  it('refuses token requests without a valid TTL (400), or through a proxy (403)', async () => {
    expect((await sendRaw(imds.url, 'PUT', '/latest/api/token', {})).status).toBe(400);
    expect(
      (await sendRaw(imds.url, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '21601' })).status,
    ).toBe(400);
    expect(
      (
        await sendRaw(imds.url, 'PUT', '/latest/api/token', {
          'x-aws-ec2-metadata-token-ttl-seconds': '60',
          'x-forwarded-for': '1.2.3.4',
        })
      ).status,
    ).toBe(403);
  });

  it('serves the identity document, pretty-printed as IMDS does', async () => {
    const res = await sendRaw(imds.url, 'GET', '/latest/dynamic/instance-identity/document', {
      'x-aws-ec2-metadata-token': await token(),
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe(identityDocument(instance));
    expect(res.body).toContain('\n  "accountId" : "111111111111",\n');
    expect(JSON.parse(res.body)).toEqual({
      accountId: SERVER_ACCOUNT,
      architecture: 'x86_64',
      availabilityZone: 'us-east-1b',
      billingProducts: null,
      devpayProductCodes: null,
      marketplaceProductCodes: null,
      imageId: 'ami-5fb8c835',
      instanceId: 'i-0b22a22eec53b9321',
      instanceType: 't3.small',
      kernelId: null,
      pendingTime: '2024-05-01T10:00:00Z',
      privateIp: '10.0.1.5',
      ramdiskId: null,
      region: 'us-east-1',
      version: '2017-09-30',
    });
  });

  it('serves an rsa2048 signature: BER (indefinite length) PKCS#7 with the document inside, SHA-256, verifying with the test certificate', async () => {
    const t = await token();
    const doc = (
      await sendRaw(imds.url, 'GET', '/latest/dynamic/instance-identity/document', { 'x-aws-ec2-metadata-token': t })
    ).body;
    const sig = (
      await sendRaw(imds.url, 'GET', '/latest/dynamic/instance-identity/rsa2048', { 'x-aws-ec2-metadata-token': t })
    ).body;
    expect(sig.split('\n').every((line) => line.length <= 64)).toBe(true);
    const der = Buffer.from(sig.replace(/\s+/g, ''), 'base64');
    expect([...der.subarray(0, 2)]).toEqual([0x30, 0x80]);
    expect(opensslVerify(sig, signer.certificatePem)).toBe(doc);
    const parsed = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], {
      input: der,
      encoding: 'utf8',
    });
    expect(parsed).toContain('sha256');
    expect(signer.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('signs detached and certificate-less variants on request, and rejects under another certificate', async () => {
    const doc = identityDocument(instance);
    const detached = await signer.sign(doc, { detached: true, includeCertificate: false, wrap: 0 });
    expect(detached).not.toContain('\n');
    expect(opensslVerify(detached, signer.certificatePem, doc)).toBe(doc);
    const other = await createIidSigner();
    expect(() => opensslVerify(detached, other.certificatePem, doc)).toThrow();
  });

  it('serves role credentials that the default SDK credential chain picks up, signing as the instance role', async () => {
    const t = await token();
    const list = await sendRaw(imds.url, 'GET', '/latest/meta-data/iam/security-credentials/', {
      'x-aws-ec2-metadata-token': t,
    });
    expect(list.body).toBe('web-frontend');
    const creds = await sendRaw(imds.url, 'GET', '/latest/meta-data/iam/security-credentials/web-frontend', {
      'x-aws-ec2-metadata-token': t,
    });
    expect(JSON.parse(creds.body)).toMatchObject({
      Code: 'Success',
      Type: 'AWS-HMAC',
      AccessKeyId: expect.stringMatching(/^ASIA/),
    });
    expect(
      (
        await sendRaw(imds.url, 'GET', '/latest/meta-data/iam/security-credentials/other', {
          'x-aws-ec2-metadata-token': t,
        })
      ).status,
    ).toBe(404);

    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
      Object.assign(process.env, {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      });
      const sts = new STSClient({ endpoint: sim.url, region: 'us-east-1', maxAttempts: 1 });
      const who = await sts.send(new GetCallerIdentityCommand({}));
      expect(who).toMatchObject({
        Account: SERVER_ACCOUNT,
        Arn: `arn:aws:sts::${SERVER_ACCOUNT}:assumed-role/web-frontend/i-0b22a22eec53b9321`,
      });

      // An agent on this instance presigns GetCallerIdentity with the same chain.
      const chainCreds = await sts.config.credentials();
      const proof = await presignedGetCallerIdentity(chainCreds, 'challenge-1');
      const res = await sendRaw(sim.url, proof.method, '/', proof.headers, proof.body);
      expect(res.status).toBe(200);
      expect(res.body).toContain('assumed-role/web-frontend/i-0b22a22eec53b9321');
      expect(WEB_ROLE).toContain('web-frontend');
    } finally {
      process.env = saved;
    }
  });
});
