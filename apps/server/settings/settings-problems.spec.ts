import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { envName, loadSettings, SettingsError, settingNames } from './settings';

/** The message loadSettings stops with, or undefined when it loads. */
function refusal(env: NodeJS.ProcessEnv, file?: string): string | undefined {
  try {
    loadSettings(env, file);
    return undefined;
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    return error.message;
  }
}

describe('settings problems, in words', () => {
  let dir = '';
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'settings-problems-'))));
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));
  const fileWith = (text: string) => {
    const file = join(dir, `attestd-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  it('names a misspelt nested key of the file and the key it most likely meant', () => {
    expect(refusal({}, fileWith('rateLimit:\n  agentPerSec: 10\n'))).toBe(
      'invalid settings: rateLimit.agentPerSec: unknown setting in the settings file (did you mean rateLimit.agentPerSecond?)',
    );
    expect(refusal({}, fileWith('http:\n  colour: blue\n'))).toBe(
      'invalid settings: http.colour: unknown setting in the settings file',
    );
  });

  it('names a misspelt variable and the one it most likely meant; guesses nothing for an unrelated name', () => {
    expect(refusal({ ATTESTD_TRUST_DOMIAN: 'prod.example' })).toBe(
      'invalid settings: ATTESTD_TRUST_DOMIAN: unknown variable (did you mean ATTESTD_TRUST_DOMAIN?)',
    );
    expect(refusal({ ATTESTD_RATE_LIMIT_AGENT_PER_SEC: '5' })).toBe(
      'invalid settings: ATTESTD_RATE_LIMIT_AGENT_PER_SEC: unknown variable (did you mean ATTESTD_RATE_LIMIT_AGENT_PER_SECOND?)',
    );
    expect(refusal({ ATTESTD_FAVOURITE_COLOUR: 'blue' })).toBe(
      'invalid settings: ATTESTD_FAVOURITE_COLOUR: unknown variable',
    );
  });

  it("accepts the CLIs' variables and a Kubernetes Service's links beside the settings", () => {
    const links = {
      ATTESTD_SERVICE_HOST: '10.96.0.12',
      ATTESTD_SERVICE_PORT: '8080',
      ATTESTD_SERVICE_PORT_HTTP: '8080',
      ATTESTD_PORT: 'tcp://10.96.0.12:8080',
      ATTESTD_PORT_8080_TCP_ADDR: '10.96.0.12',
    };
    expect(
      refusal({
        ATTESTD_TOKEN: 't',
        ATTESTD_SERVER: 'https://attestd',
        ATTESTD_JOIN_TOKEN: 'j',
        ATTESTD_AGENT_ARGS: '--daemon',
        ...links,
      }),
    ).toBeUndefined();
    // without the Service's host variable, ATTESTD_PORT is a guess at a setting (listen)
    expect(refusal({ ATTESTD_PORT: '8080' })).toBe('invalid settings: ATTESTD_PORT: unknown variable');
  });

  it.each([
    [
      { ATTESTD_RATE_LIMIT_AGENT_BURST: 'many' },
      'rateLimit.agentBurst (ATTESTD_RATE_LIMIT_AGENT_BURST): must be a whole number',
    ],
    [
      { ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '0' },
      'rateLimit.agentPerSecond (ATTESTD_RATE_LIMIT_AGENT_PER_SECOND): must be more than 0',
    ],
    [{ ATTESTD_CLOUD_CACHE_SIZE: '0' }, 'cloudCacheSize (ATTESTD_CLOUD_CACHE_SIZE): must be at least 1'],
    [
      { ATTESTD_AWS_SKIP_BLOCK_DEVICE: 'maybe' },
      'aws.skipBlockDevice (ATTESTD_AWS_SKIP_BLOCK_DEVICE): must be true or false',
    ],
    [{ ATTESTD_JWT_ALGORITHM: 'HS256' }, 'jwtAlgorithm (ATTESTD_JWT_ALGORITHM): must be one of RS256, ES256'],
    [
      { ATTESTD_LISTEN: 'localhost' },
      'listen (ATTESTD_LISTEN): must be HOST:PORT, such as 127.0.0.1:8080 or 0.0.0.0:8443',
    ],
    [
      { ATTESTD_JWT_ISSUER: 'attestd.example.org' },
      'jwtIssuer (ATTESTD_JWT_ISSUER): must be an https:// (or http://) URL',
    ],
    [{ DATABASE_URL: 'mysql://db/attestd' }, 'databaseUrl (ATTESTD_DATABASE_URL): must be a postgresql:// URL'],
    [
      { ATTESTD_AWS_ASSUME_ROLE_NAME: 'a role' },
      'aws.assumeRoleName (ATTESTD_AWS_ASSUME_ROLE_NAME): must be an IAM role name: 1 to 64 letters, digits and the characters + = , . @ _ -',
    ],
  ])('says what %j must be', (env, problem) => {
    expect(refusal(env)).toBe(`invalid settings: ${problem}`);
  });

  it('counts list entries from 1 and names an entry of the file by its key', () => {
    expect(
      refusal(
        {},
        fileWith('azure:\n  tenants:\n    - { tenantId: not-a-guid, clientId: app, clientSecret: s3cret }\n'),
      ),
    ).toBe(
      'invalid settings: azure.tenants (ATTESTD_AZURE_TENANTS): entry 1 must be TENANT_ID:CLIENT_ID:CLIENT_SECRET with the tenant ID a GUID (in the settings file also a mapping of tenantId, clientId and clientSecret)',
    );
    expect(refusal({}, fileWith('rateLimit: 5\n'))).toBe(
      'invalid settings: rateLimit (ATTESTD_RATE_LIMIT): must be a mapping of settings',
    );
  });

  it('reports every problem at once, in one line', () => {
    expect(
      refusal({ ATTESTD_TRUST_DOMIAN: 'x', ATTESTD_JWT_ALGORITHM: 'none', ATTESTD_HTTP_MAX_CONNECTIONS: '-1' }),
    ).toBe(
      'invalid settings: ATTESTD_TRUST_DOMIAN: unknown variable (did you mean ATTESTD_TRUST_DOMAIN?); ' +
        'http.maxConnections (ATTESTD_HTTP_MAX_CONNECTIONS): must be at least 1; jwtAlgorithm (ATTESTD_JWT_ALGORITHM): must be one of RS256, ES256',
    );
  });

  it('keeps a file path with a line break on one line', () => {
    expect(refusal({ ATTESTD_KEY_ENCRYPTION_KEY_FILE: '/run/secrets/kek\n' })).toMatch(/^[^\n]*kek\\u000a[^\n]*$/);
  });

  const SECRETS = new Set([
    'adminTokens',
    'keyEncryptionKey',
    'keyEncryptionKeyPrevious',
    'azure.tenants',
    'databaseUrl',
  ]);

  it('for any value of any setting: loads, or stops with one line that shows no regex, no made-up variable and no secret', () => {
    const names = settingNames();
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.constantFrom('', ',', 'viewer:'),
        (name, value, prefix) => {
          const given = `${prefix}${value}`;
          const message = refusal({ [envName(name)]: given });
          if (message === undefined) return;
          expect(message).not.toMatch(/\n/);
          expect(message).not.toContain('[object Object]');
          expect(message).not.toMatch(/ATTESTD_[A-Z_]+_\d/);
          // what is left once the value (quoted as JSON or not) is taken out is ours: no pattern syntax in it
          const ours = message.replaceAll(JSON.stringify(given.trim()), '').replaceAll(given.trim(), '');
          expect(ours).not.toMatch(/\[\^|\\s|\{\d+,\}|\^\(|\$\//);
          if (SECRETS.has(name))
            expect(refusal({ [envName(name)]: `${given}Qz7Secret` }) ?? '').not.toContain('Qz7Secret');
        },
      ),
      { numRuns: 400 },
    );
  });
});
