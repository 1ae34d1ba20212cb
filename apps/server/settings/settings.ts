import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '@libs/policy';
import { parseKek } from '@libs/pki';
import { checkPrivateFile, RefusedFileError } from '../custody/private-files';
import { unknownVariables } from './environment-variables';
import { describeSchemaErrors } from './settings-problems';
import { settingsSchema } from './settings.schema';

export interface Settings {
  trustDomain: string;
  listen: { host: string; port: number };
  database: { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };
  dataDir: string;
  policiesDir: string;
  adminTokens: { token: string; role: 'admin' | 'viewer' }[];
  aws: {
    assumeRoleName?: string;
    partition: 'aws' | 'aws-cn' | 'aws-us-gov';
    disableInstanceProfileSelectors: boolean;
    skipBlockDevice: boolean;
    /** `AWS_REGION`: region of the STS, IAM and Organizations calls; unset, the partition's main region */
    region?: string;
    /** `AWS_ENDPOINT_URL_STS`: where agents' signed GetCallerIdentity requests go instead of their own STS URL */
    stsEndpoint?: string;
  };
  azure: { authorityHost: string; resourceManagerEndpoint: string; tenants: AzureTenantCredential[] };
  cloudCacheTtlSeconds: number;
  /** entries each cloud look-up cache holds at most */
  cloudCacheSize: number;
  jwtIssuer: string;
  rateLimit: { agentPerSecond: number; agentBurst: number; concurrentLogins: number };
  http: HttpLimits;
  /** HTTPS; unset: plain HTTP */
  tls?: { certFile: string; keyFile: string; reloadIntervalSeconds: number };
  trustedProxies: string[];
  caTtlSeconds: number;
  /** a new CA key signs every this many seconds (at most caTtl / 2) */
  caRotationSeconds: number;
  jwtKeyRotationSeconds: number;
  jwtSvidTtlSeconds: number;
  jwtAlgorithm: 'RS256' | 'ES256';
  /** verified X509-SVID chains remembered for JWT-SVID requests (`libs/pki/svid-cache.ts`) */
  svidCacheSize: number;
  /**
   * Seals private keys and server secrets at rest (AES-256-GCM). Always set
   * on PostgreSQL; in embedded mode, unless given, settled at start from
   * `<dataDir>/key-encryption-key` (`custody/key-custody.ts`).
   */
  keyEncryptionKey?: Buffer;
  /** where keyEncryptionKey came from, for messages: a variable, a file path */
  keyEncryptionKeySource?: string;
  /** keys that sealed stored keys before (a rotation): what they open is sealed again with keyEncryptionKey */
  previousKeyEncryptionKeys: { key: Buffer; source: string }[];
  logLevel: string;
  /** fallback check for configuration pushed through other replicas (LISTEN/NOTIFY is the fast path) */
  configPollIntervalSeconds: number;
  /** how long rows are kept (0: forever) and how often the retention job runs; docs/operations/retention.md */
  retention: { auditSeconds: number; agentSeconds: number; joinTokenSeconds: number; intervalSeconds: number };
}

/** `http.*`: connection limits and timeouts (durations in seconds). */
export interface HttpLimits {
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  maxRequestsPerConnection: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
}

/** `azure.tenants[]`: the service principal the server signs in as in that tenant. */
export interface AzureTenantCredential {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** A setting that stops the server, named as the operator wrote it. */
export class SettingsError extends Error {}

type Raw = Record<string, unknown>;

/**
 * Reads `--config FILE` (YAML) and `ATTESTD_*` variables, environment
 * winning, and returns typed settings or throws a SettingsError naming
 * every wrong setting.
 */
export function loadSettings(env: NodeJS.ProcessEnv, configFile?: string): Settings {
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const merged = mergeEnvironment(fromFile, env);
  const validate = settingsValidator();
  const valid = validate(merged);
  const names = settingNames();
  const problems = [
    ...unknownVariables(env, [...names.map(envName), 'DATABASE_URL']),
    ...(valid ? [] : describeSchemaErrors(validate.errors ?? [], names, envName)),
  ];
  if (problems.length > 0) throw new SettingsError(`invalid settings: ${problems.join('; ')}`);
  return typed(merged as Raw & typeof merged, env);
}

let compiled: ValidateFunction | undefined;

/** The settings schema compiled once: compiling costs far more than validating. */
function settingsValidator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: 'array', strict: true, verbose: true });
  ajv.addVocabulary(['expected']);
  return (compiled = ajv.compile(settingsSchema));
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
}

/** Every setting a variable can set, in the file's dotted form (`rateLimit.agentBurst`); objects are not settings, their members are. */
export function settingNames(
  properties: Record<string, SchemaNode> = settingsSchema.properties,
  prefix = '',
): string[] {
  return Object.entries(properties).flatMap(([key, schema]) =>
    schema.type === 'object' && schema.properties
      ? settingNames(schema.properties, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

function readConfigFile(path: string): Raw {
  try {
    const parsed: unknown = parseYaml(readFileSync(path, 'utf8'), { maxAliasCount: 0 });
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a mapping');
    return parsed as Raw;
  } catch (error) {
    // YAML's messages go on with the offending lines; the first line says what and where
    throw new SettingsError(`cannot read settings file ${path}: ${(error as Error).message.split('\n')[0]!.trim()}`);
  }
}

/** `aws.assumeRoleName` → `ATTESTD_AWS_ASSUME_ROLE_NAME`. */
export function envName(setting: string): string {
  return `ATTESTD_${setting
    .replaceAll('.', '_')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()}`;
}

function mergeEnvironment(fromFile: Raw, env: NodeJS.ProcessEnv): Raw {
  const merged: Raw = structuredClone(fromFile);
  for (const name of settingNames()) {
    const value = env[envName(name)];
    // An empty variable (compose's `${X:-}`) means unset, not an empty value.
    if (value === undefined || value === '') continue;
    const path = name.split('.');
    const key = path.pop()!;
    const target = containerAt(merged, path);
    if (target)
      target[key] =
        schemaOf(name).type === 'array'
          ? value
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : value;
  }
  if (env.DATABASE_URL && !env[envName('databaseUrl')]) merged.databaseUrl = env.DATABASE_URL;
  return merged;
}

/** The mapping at `path`, made when missing; undefined when the file put something else there (the schema then refuses it by name). */
function containerAt(root: Raw, path: readonly string[]): Raw | undefined {
  let target = root;
  for (const part of path) {
    const child = (target[part] ??= {});
    if (typeof child !== 'object' || child === null || Array.isArray(child)) return undefined;
    target = child as Raw;
  }
  return target;
}

function schemaOf(name: string): SchemaNode {
  let node: SchemaNode = settingsSchema;
  for (const part of name.split('.')) node = node.properties![part]!;
  return node;
}

function typed(raw: Raw, env: NodeJS.ProcessEnv): Settings {
  const r = raw as {
    trustDomain: string;
    listen: string;
    databaseUrl?: string;
    dataDir: string;
    policiesDir: string;
    adminTokens: string[];
    aws: Settings['aws'];
    azure: { authorityHost: string; resourceManagerEndpoint: string; tenants: (string | AzureTenantCredential)[] };
    cloudCacheTtl: string;
    cloudCacheSize: number;
    jwtIssuer?: string;
    rateLimit: Settings['rateLimit'];
    http: RawHttp;
    tls: { certFile?: string; keyFile?: string; reloadInterval: string };
    trustedProxies: string[];
    caTtl: string;
    caRotation?: string;
    jwtKeyRotation: string;
    jwtSvidTtl: string;
    jwtAlgorithm: Settings['jwtAlgorithm'];
    svidCacheSize: number;
    keyEncryptionKey?: string;
    keyEncryptionKeyFile?: string;
    keyEncryptionKeyPrevious?: string;
    keyEncryptionKeyPreviousFile?: string;
    logLevel: string;
    configPollInterval: string;
    auditRetention: string;
    agentRetention: string;
    joinTokenRetention: string;
    retentionInterval: string;
  };
  const [host, port] = [
    r.listen.slice(0, r.listen.lastIndexOf(':')),
    Number(r.listen.slice(r.listen.lastIndexOf(':') + 1)),
  ];
  if (!/^[a-z0-9]([a-z0-9.\-_]*[a-z0-9])?$/.test(r.trustDomain)) {
    throw new SettingsError(
      `trustDomain (${envName('trustDomain')}): ${JSON.stringify(r.trustDomain)} is not a SPIFFE trust domain name (lowercase letters, digits, dots, dashes and underscores, beginning and ending with a letter or digit)`,
    );
  }
  if (port > 65535) throw new SettingsError(`listen (${envName('listen')}): port ${port} is out of range`);
  const dataDir = resolve(r.dataDir);
  const tls = tlsFiles(r.tls);
  const kek = keyEncryptionKey(r, 'keyEncryptionKey');
  const previousKek = keyEncryptionKey(r, 'keyEncryptionKeyPrevious');
  if (r.databaseUrl && !kek) {
    throw new SettingsError(
      `keyEncryptionKey (${envName('keyEncryptionKey')}) or keyEncryptionKeyFile (${envName('keyEncryptionKeyFile')}) is required with PostgreSQL, ` +
        'where every replica must seal keys with the same key; make one with: openssl rand -base64 32',
    );
  }
  const keys = keySchedule(r);
  return {
    trustDomain: r.trustDomain,
    listen: { host, port },
    database: r.databaseUrl
      ? { kind: 'postgres', url: r.databaseUrl }
      : { kind: 'pglite', dataDir: resolve(dataDir, 'pglite') },
    dataDir,
    policiesDir: resolve(r.policiesDir),
    adminTokens: r.adminTokens.map((entry) => {
      const [role, token] = entry.startsWith('viewer:')
        ? ['viewer', entry.slice(7)]
        : entry.startsWith('admin:')
          ? ['admin', entry.slice(6)]
          : ['admin', entry];
      return { role: role as 'admin' | 'viewer', token: token! };
    }),
    aws: { ...r.aws, ...awsSdkVariables(env) },
    azure: {
      ...r.azure,
      authorityHost: r.azure.authorityHost.replace(/\/+$/, ''),
      resourceManagerEndpoint: r.azure.resourceManagerEndpoint.replace(/\/+$/, ''),
      tenants: r.azure.tenants.map(azureTenant),
    },
    cloudCacheTtlSeconds: duration('cloudCacheTtl', r.cloudCacheTtl),
    cloudCacheSize: r.cloudCacheSize,
    jwtIssuer: r.jwtIssuer ?? `${tls ? 'https' : 'http'}://${r.listen}`,
    rateLimit: r.rateLimit,
    http: httpLimits(r.http),
    ...(tls && { tls }),
    trustedProxies: trustedProxies(r.trustedProxies),
    ...keys,
    jwtAlgorithm: r.jwtAlgorithm,
    svidCacheSize: r.svidCacheSize,
    ...(kek && { keyEncryptionKey: kek.key, keyEncryptionKeySource: kek.source }),
    previousKeyEncryptionKeys: previousKek ? [previousKek] : [],
    logLevel: r.logLevel,
    configPollIntervalSeconds: positiveDuration('configPollInterval', r.configPollInterval),
    retention: {
      auditSeconds: retention('auditRetention', r.auditRetention),
      agentSeconds: retention('agentRetention', r.agentRetention),
      joinTokenSeconds: retention('joinTokenRetention', r.joinTokenRetention),
      intervalSeconds: positiveDuration('retentionInterval', r.retentionInterval),
    },
  };
}

/**
 * The AWS SDK's standard variables the server itself also reads. They keep
 * the SDK's names, so one AWS_REGION sets both the SDK clients (which read
 * the rest of its configuration themselves) and the server's home region.
 */
function awsSdkVariables(env: NodeJS.ProcessEnv): Pick<Settings['aws'], 'region' | 'stsEndpoint'> {
  return {
    ...(env.AWS_REGION !== undefined && { region: env.AWS_REGION }),
    ...(env.AWS_ENDPOINT_URL_STS && { stsEndpoint: env.AWS_ENDPOINT_URL_STS }),
  };
}

/** `TENANT:CLIENT:SECRET` (the environment's form; the secret may hold colons) or the file's object form. */
function azureTenant(entry: string | AzureTenantCredential): AzureTenantCredential {
  if (typeof entry !== 'string') return entry;
  const [tenantId, clientId, ...secret] = entry.split(':');
  return { tenantId: tenantId!, clientId: clientId!, clientSecret: secret.join(':') };
}

function duration(name: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new SettingsError(`${name} (${envName(name)}): ${(error as Error).message}`);
  }
}

function positiveDuration(name: string, text: string): number {
  const seconds = duration(name, text);
  if (seconds <= 0) throw new SettingsError(`${name} (${envName(name)}): must be more than 0s`);
  return seconds;
}

function tlsFiles(r: { certFile?: string; keyFile?: string; reloadInterval: string }): Settings['tls'] {
  if (r.certFile === undefined && r.keyFile === undefined) return undefined;
  if (r.certFile === undefined || r.keyFile === undefined) {
    const missing = r.certFile === undefined ? 'tls.certFile' : 'tls.keyFile';
    throw new SettingsError(`${missing} (${envName(missing)}): HTTPS needs both tls.certFile and tls.keyFile`);
  }
  return {
    certFile: resolve(r.certFile),
    keyFile: resolve(r.keyFile),
    reloadIntervalSeconds: positiveDuration('tls.reloadInterval', r.reloadInterval),
  };
}

/** `trustedProxies`: addresses and CIDRs checked here, so a typo stops the start with one line rather than a stack trace. */
function trustedProxies(entries: string[]): string[] {
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address);
    if (family === 0 || (prefix !== undefined && Number(prefix) > (family === 4 ? 32 : 128))) {
      throw new SettingsError(
        `trustedProxies (${envName('trustedProxies')}): ${JSON.stringify(entry)} is not an IP address or CIDR`,
      );
    }
  }
  return entries;
}

type RawHttp = { headersTimeout: string; requestTimeout: string; idleTimeout: string; keepAliveTimeout: string } & Pick<
  HttpLimits,
  'maxRequestsPerConnection' | 'maxConnections' | 'maxConnectionsPerSource'
>;

function httpLimits(r: RawHttp): HttpLimits {
  const headersTimeoutSeconds = positiveDuration('http.headersTimeout', r.headersTimeout);
  const requestTimeoutSeconds = positiveDuration('http.requestTimeout', r.requestTimeout);
  // Node requires it: the headers are part of the request
  if (headersTimeoutSeconds > requestTimeoutSeconds) {
    throw new SettingsError(
      `http.headersTimeout (${envName('http.headersTimeout')}): must not be longer than http.requestTimeout (${r.requestTimeout})`,
    );
  }
  return {
    headersTimeoutSeconds,
    requestTimeoutSeconds,
    idleTimeoutSeconds: positiveDuration('http.idleTimeout', r.idleTimeout),
    keepAliveTimeoutSeconds: positiveDuration('http.keepAliveTimeout', r.keepAliveTimeout),
    maxRequestsPerConnection: r.maxRequestsPerConnection,
    maxConnections: r.maxConnections,
    maxConnectionsPerSource: r.maxConnectionsPerSource,
  };
}

/** A retention period: a duration, or `0` (also `0d`, `0s`) to keep rows forever. */
function retention(name: string, text: string): number {
  return text === '0' ? 0 : duration(name, text);
}

const MAX_JWT_SVID_TTL_SECONDS = 3600;

/** CA and JWT-key lifetimes and rotation periods, checked against each other. */
function keySchedule(r: { caTtl: string; caRotation?: string; jwtKeyRotation: string; jwtSvidTtl: string }) {
  const caTtlSeconds = duration('caTtl', r.caTtl);
  if (caTtlSeconds < 2) throw new SettingsError(`caTtl (${envName('caTtl')}): must be at least 2s`);
  const caRotationSeconds =
    r.caRotation === undefined ? Math.floor(caTtlSeconds / 2) : duration('caRotation', r.caRotation);
  // A CA is made half a period before it signs and signs for one period, so
  // at least half of caTtl is left when it retires, for the SVIDs it signed last.
  if (caRotationSeconds < 1 || caRotationSeconds > caTtlSeconds / 2) {
    throw new SettingsError(`caRotation (${envName('caRotation')}): must be between 1s and half of caTtl (${r.caTtl})`);
  }
  const jwtKeyRotationSeconds = duration('jwtKeyRotation', r.jwtKeyRotation);
  if (jwtKeyRotationSeconds < 1)
    throw new SettingsError(`jwtKeyRotation (${envName('jwtKeyRotation')}): must be at least 1s`);
  const jwtSvidTtlSeconds = duration('jwtSvidTtl', r.jwtSvidTtl);
  if (jwtSvidTtlSeconds < 1 || jwtSvidTtlSeconds > MAX_JWT_SVID_TTL_SECONDS) {
    throw new SettingsError(`jwtSvidTtl (${envName('jwtSvidTtl')}): must be between 1s and 1h`);
  }
  return { caTtlSeconds, caRotationSeconds, jwtKeyRotationSeconds, jwtSvidTtlSeconds };
}

/** `keyEncryptionKey` (or `…Previous`) from its setting or from the file its `…File` setting names. */
function keyEncryptionKey(
  r: Record<string, unknown>,
  name: 'keyEncryptionKey' | 'keyEncryptionKeyPrevious',
): { key: Buffer; source: string } | undefined {
  const [value, file] = [r[name] as string | undefined, r[`${name}File`] as string | undefined];
  const given =
    value !== undefined
      ? { text: value, setting: name, source: envName(name) }
      : file !== undefined
        ? { text: readSecretFile(`${name}File`, file), setting: `${name}File`, source: file }
        : undefined;
  if (given === undefined) return undefined;
  try {
    return { key: parseKek(given.text.trim()), source: given.source };
  } catch (error) {
    throw new SettingsError(`${given.setting} (${envName(given.setting)}): ${(error as Error).message}`);
  }
}

/** A secret file an operator gives: not readable by other users (PostgreSQL's rule for its key files). */
function readSecretFile(setting: string, path: string): string {
  return asSettingError(setting, () => {
    checkPrivateFile(path, { rootMayShareWithGroup: true });
    return readFileSync(path, 'utf8');
  });
}

/** Runs a check of a path a setting names; a refusal or a failed read stops the server with one line naming the setting. */
export function asSettingError<T>(setting: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof RefusedFileError || (error as NodeJS.ErrnoException).code !== undefined) {
      throw new SettingsError(`${setting} (${envName(setting)}): ${oneLine((error as Error).message)}`);
    }
    throw error;
  }
}

/** A system error quotes the path it was given as is; a start error stays one line whatever the path holds. */
function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
