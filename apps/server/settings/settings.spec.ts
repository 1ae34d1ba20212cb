import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envName, loadSettings, SettingsError } from './settings';
import { temporaryDirectories } from '@test/support/temp-directories';

const tempDir = temporaryDirectories();

const KEK = Buffer.alloc(32, 7).toString('base64');

describe('server settings', () => {
  it('has the defaults of operations.md', () => {
    const settings = loadSettings({});
    expect(settings).toMatchObject({
      trustDomain: 'example.org',
      listen: { host: '127.0.0.1', port: 8080 },
      database: { kind: 'pglite', dataDir: expect.stringMatching(/data\/pglite$/) },
      aws: { partition: 'aws', disableInstanceProfileSelectors: false, skipBlockDevice: false },
      cloudCacheTtlSeconds: 180,
      svidCacheSize: 10000,
      jwtIssuer: 'http://127.0.0.1:8080',
      rateLimit: { agentPerSecond: 50, agentBurst: 100, concurrentLogins: 256 },
      trustedProxies: [],
      adminTokens: [],
      http: {
        headersTimeoutSeconds: 10,
        requestTimeoutSeconds: 30,
        idleTimeoutSeconds: 60,
        keepAliveTimeoutSeconds: 72,
        maxRequestsPerConnection: 1000,
        maxConnections: 10000,
        maxConnectionsPerSource: 100,
      },
    });
    expect(settings.tls).toBeUndefined();
  });

  it('serves HTTPS with both TLS files, and then names an https issuer', () => {
    const settings = loadSettings({
      ATTESTD_TLS_CERT_FILE: '/etc/attestd/tls.crt',
      ATTESTD_TLS_KEY_FILE: '/etc/attestd/tls.key',
      ATTESTD_LISTEN: '0.0.0.0:8443',
    });
    expect(settings.tls).toEqual({
      certFile: '/etc/attestd/tls.crt',
      keyFile: '/etc/attestd/tls.key',
      reloadIntervalSeconds: 10,
    });
    expect(settings.jwtIssuer).toBe('https://0.0.0.0:8443');
  });

  it('names variables ATTESTD_ plus the setting in upper snake case', () => {
    expect(envName('trustDomain')).toBe('ATTESTD_TRUST_DOMAIN');
    expect(envName('aws.assumeRoleName')).toBe('ATTESTD_AWS_ASSUME_ROLE_NAME');
    expect(envName('rateLimit.agentPerSecond')).toBe('ATTESTD_RATE_LIMIT_AGENT_PER_SECOND');
  });

  it('reads nested settings, booleans, numbers and comma-separated lists from the environment', () => {
    const settings = loadSettings({
      ATTESTD_AWS_ASSUME_ROLE_NAME: 'attestd-reader',
      ATTESTD_AWS_SKIP_BLOCK_DEVICE: 'true',
      ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '7.5',
      ATTESTD_ADMIN_TOKENS: 'aaaaaaaaaaaaaaaaaaaa, viewer:bbbbbbbbbbbbbbbbbbbb',
    });
    expect(settings.aws).toMatchObject({ assumeRoleName: 'attestd-reader', skipBlockDevice: true });
    expect(settings.rateLimit.agentPerSecond).toBe(7.5);
    expect(settings.adminTokens).toEqual([
      { role: 'admin', token: 'aaaaaaaaaaaaaaaaaaaa' },
      { role: 'viewer', token: 'bbbbbbbbbbbbbbbbbbbb' },
    ]);
  });

  it("reads the AWS SDK's AWS_REGION and AWS_ENDPOINT_URL_STS under their own names", () => {
    expect(
      loadSettings({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_STS: 'https://sts.vpce.example' }).aws,
    ).toMatchObject({
      region: 'eu-west-1',
      stsEndpoint: 'https://sts.vpce.example',
    });
    expect(loadSettings({ AWS_ENDPOINT_URL_STS: '' }).aws).not.toHaveProperty('stsEndpoint');
  });

  it('takes DATABASE_URL as the real server to use', () => {
    expect(loadSettings({ DATABASE_URL: 'postgresql://db/attestd', ATTESTD_KEY_ENCRYPTION_KEY: KEK }).database).toEqual(
      { kind: 'postgres', url: 'postgresql://db/attestd' },
    );
  });

  it('refuses PostgreSQL without a key-encryption key, in one line saying how to make one', () => {
    const refusal = () => loadSettings({ DATABASE_URL: 'postgresql://db/attestd' });
    expect(refusal).toThrow(SettingsError);
    expect(refusal).toThrow(
      /^keyEncryptionKey \(ATTESTD_KEY_ENCRYPTION_KEY\) or keyEncryptionKeyFile \(ATTESTD_KEY_ENCRYPTION_KEY_FILE\) is required with PostgreSQL[^\n]*openssl rand -base64 32$/,
    );
  });

  it('reads key-encryption keys from files only when other users cannot read them', () => {
    const dir = tempDir('settings-');
    try {
      const file = join(dir, 'kek');
      writeFileSync(file, `${KEK}\n`, { mode: 0o600 });
      const previous = join(dir, 'previous');
      writeFileSync(previous, 'cd'.repeat(32), { mode: 0o400 });
      const settings = loadSettings({
        DATABASE_URL: 'postgresql://db/attestd',
        ATTESTD_KEY_ENCRYPTION_KEY_FILE: file,
        ATTESTD_KEY_ENCRYPTION_KEY_PREVIOUS_FILE: previous,
      });
      expect(settings).toMatchObject({
        keyEncryptionKeySource: file,
        previousKeyEncryptionKeys: [{ key: Buffer.from('cd'.repeat(32), 'hex'), source: previous }],
      });
      chmodSync(file, 0o644);
      expect(() => loadSettings({ ATTESTD_KEY_ENCRYPTION_KEY_FILE: file })).toThrow(
        new SettingsError(
          `keyEncryptionKeyFile (ATTESTD_KEY_ENCRYPTION_KEY_FILE): key file ${file} has invalid permissions 0644; it must be 0600 or stricter (no access for others): run chmod 600 ${file}`,
        ),
      );
      expect(() => loadSettings({ ATTESTD_KEY_ENCRYPTION_KEY_FILE: join(dir, 'missing') })).toThrow(
        /^keyEncryptionKeyFile \(ATTESTD_KEY_ENCRYPTION_KEY_FILE\): ENOENT/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets the environment win over the settings file', () => {
    const file = join(tempDir('settings-'), 'attestd.yaml');
    writeFileSync(file, 'trustDomain: file.example\naws:\n  partition: aws-cn\n');
    const settings = loadSettings({ ATTESTD_TRUST_DOMAIN: 'env.example' }, file);
    expect(settings.trustDomain).toBe('env.example');
    expect(settings.aws.partition).toBe('aws-cn');
  });

  it.each([
    [{ ATTESTD_AWS_PARTITION: 'aws-moon' }, /aws\.partition \(ATTESTD_AWS_PARTITION\)/],
    [{ ATTESTD_LISTEN: 'localhost' }, /listen \(ATTESTD_LISTEN\)/],
    [{ ATTESTD_TRUST_DOMAIN: 'Example.ORG' }, /trustDomain \(ATTESTD_TRUST_DOMAIN\)/],
    [{ ATTESTD_CLOUD_CACHE_TTL: 'soon' }, /cloudCacheTtl \(ATTESTD_CLOUD_CACHE_TTL\)/],
    [{ ATTESTD_ADMIN_TOKENS: 'short' }, /adminTokens/],
    [{ ATTESTD_KEY_ENCRYPTION_KEY: 'not-32-bytes' }, /keyEncryptionKey \(ATTESTD_KEY_ENCRYPTION_KEY\)/],
    [{ DATABASE_URL: 'mysql://db' }, /databaseUrl/],
    [
      { ATTESTD_TLS_CERT_FILE: '/etc/attestd/tls.crt' },
      /^tls\.keyFile \(ATTESTD_TLS_KEY_FILE\): HTTPS needs both tls\.certFile and tls\.keyFile$/,
    ],
    [
      { ATTESTD_HTTP_HEADERS_TIMEOUT: '1m', ATTESTD_HTTP_REQUEST_TIMEOUT: '30s' },
      /^http\.headersTimeout \(ATTESTD_HTTP_HEADERS_TIMEOUT\): must not be longer than http\.requestTimeout/,
    ],
    [
      { ATTESTD_HTTP_MAX_CONNECTIONS_PER_SOURCE: '0' },
      /http\.maxConnectionsPerSource \(ATTESTD_HTTP_MAX_CONNECTIONS_PER_SOURCE\)/,
    ],
    [{ ATTESTD_HTTP_IDLE_TIMEOUT: '0s' }, /http\.idleTimeout \(ATTESTD_HTTP_IDLE_TIMEOUT\): must be more than 0s/],
    [
      { ATTESTD_TRUSTED_PROXIES: '10.0.0.0/33' },
      /^trustedProxies \(ATTESTD_TRUSTED_PROXIES\): "10\.0\.0\.0\/33" is not an IP address or CIDR$/,
    ],
    [{ ATTESTD_TRUSTED_PROXIES: '999.1.1.1' }, /trustedProxies/],
  ])('stops with a message naming the wrong setting: %j', (env, message) => {
    expect(() => loadSettings(env)).toThrow(SettingsError);
    expect(() => loadSettings(env)).toThrow(message);
  });

  it('refuses unknown settings in the file', () => {
    const file = join(tempDir('settings-'), 'attestd.yaml');
    writeFileSync(file, 'trustDomian: typo.example\n');
    expect(() => loadSettings({}, file)).toThrow(/trustDomian/);
  });

  it('accepts a 32-byte key-encryption key in hex or base64', () => {
    expect(loadSettings({ ATTESTD_KEY_ENCRYPTION_KEY: 'ab'.repeat(32) }).keyEncryptionKey).toHaveLength(32);
    expect(
      loadSettings({ ATTESTD_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }).keyEncryptionKey,
    ).toHaveLength(32);
  });
});

describe('server settings from compose files', () => {
  it('treats an empty variable as unset', () => {
    expect(loadSettings({ ATTESTD_KEY_ENCRYPTION_KEY: '', ATTESTD_TRUST_DOMAIN: '' })).toMatchObject({
      trustDomain: 'example.org',
    });
    expect(loadSettings({ ATTESTD_KEY_ENCRYPTION_KEY: '' }).keyEncryptionKey).toBeUndefined();
  });
});
