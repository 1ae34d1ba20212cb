/**
 * Server settings (`operations.md`), as one JSON Schema: the YAML file and
 * the environment are merged into this shape, then validated and coerced
 * by Ajv, so every wrong setting is reported by name before the server
 * starts. Defaults live here and only here. `expected` (an annotation of
 * ours) says in words what a `pattern` or `anyOf` accepts, for messages:
 * an operator should not have to read a regular expression.
 */
export const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    trustDomain: { type: 'string', default: 'example.org' },
    listen: {
      type: 'string',
      pattern: '^[^\\s:]+:[0-9]{1,5}$',
      expected: 'HOST:PORT, such as 127.0.0.1:8080 or 0.0.0.0:8443',
      default: '127.0.0.1:8080',
    },
    databaseUrl: { type: 'string', pattern: '^postgres(ql)?://', expected: 'a postgresql:// URL' },
    dataDir: { type: 'string', minLength: 1, default: './data' },
    policiesDir: { type: 'string', minLength: 1, default: './policies' },
    adminTokens: {
      type: 'array',
      items: {
        type: 'string',
        pattern: '^(viewer:|admin:)?[^\\s:]{16,}$',
        expected: 'TOKEN or viewer:TOKEN, the token at least 16 characters without spaces or colons',
      },
      default: [],
    },
    aws: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        assumeRoleName: {
          type: 'string',
          pattern: '^[\\w+=,.@-]{1,64}$',
          expected: 'an IAM role name: 1 to 64 letters, digits and the characters + = , . @ _ -',
        },
        partition: { type: 'string', enum: ['aws', 'aws-cn', 'aws-us-gov'], default: 'aws' },
        disableInstanceProfileSelectors: { type: 'boolean', default: false },
        skipBlockDevice: { type: 'boolean', default: false },
      },
    },
    azure: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        authorityHost: {
          type: 'string',
          pattern: '^https://[^\\s/]+(/[^\\s]*)?$',
          expected: 'an https:// URL',
          default: 'https://login.microsoftonline.com',
        },
        resourceManagerEndpoint: {
          type: 'string',
          pattern: '^https://[^\\s/]+(/[^\\s]*)?$',
          expected: 'an https:// URL',
          default: 'https://management.azure.com',
        },
        /** service principals to sign in as per tenant; other tenants use DefaultAzureCredential. Environment form: `TENANT_ID:CLIENT_ID:CLIENT_SECRET`, comma-separated */
        tenants: {
          type: 'array',
          default: [],
          items: {
            expected:
              'TENANT_ID:CLIENT_ID:CLIENT_SECRET with the tenant ID a GUID (in the settings file also a mapping of tenantId, clientId and clientSecret)',
            anyOf: [
              { type: 'string', pattern: '^[0-9a-fA-F-]{36}:[^:\\s]+:\\S+$' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['tenantId', 'clientId', 'clientSecret'],
                properties: {
                  tenantId: { type: 'string', pattern: '^[0-9a-fA-F-]{36}$', expected: 'a tenant ID (a GUID)' },
                  clientId: { type: 'string', minLength: 1 },
                  clientSecret: { type: 'string', minLength: 1 },
                },
              },
            ],
          },
        },
      },
    },
    cloudCacheTtl: { type: 'string', default: '3m' },
    /** entries each cloud look-up cache (EC2 instances, instance profiles, assumed roles, Azure VMs and NICs) holds at most, least recently used out first */
    cloudCacheSize: { type: 'integer', minimum: 1, default: 100000 },
    /** the `iss` of JWT-SVIDs and the base of the OIDC discovery document; unset: http(s)://<listen>. AWS STS federation needs https */
    jwtIssuer: { type: 'string', pattern: '^https?://', expected: 'an https:// (or http://) URL' },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        agentPerSecond: { type: 'number', exclusiveMinimum: 0, default: 50 },
        agentBurst: { type: 'integer', minimum: 1, default: 100 },
        /** login completions verified at once; more wait their turn with 429 + Retry-After */
        concurrentLogins: { type: 'integer', minimum: 1, default: 256 },
      },
    },
    /** HTTPS: a PEM certificate chain and its private key, read again when they change */
    tls: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        certFile: { type: 'string', minLength: 1 },
        keyFile: { type: 'string', minLength: 1 },
        /** how often the files are checked for a renewed certificate */
        reloadInterval: { type: 'string', default: '10s' },
      },
    },
    /** connection limits and timeouts, enforced by the HTTP server before a request is parsed (docs/operations/security.md) */
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        /** time from a connection's start (or a kept-alive connection's next request) to the end of the request headers */
        headersTimeout: { type: 'string', default: '10s' },
        /** time to receive a whole request, headers and body */
        requestTimeout: { type: 'string', default: '30s' },
        /** a connection with no traffic either way for this long is closed (a client that stops reading a response) */
        idleTimeout: { type: 'string', default: '60s' },
        /** how long a kept-alive connection may wait for its next request; longer than a load balancer's idle timeout (AWS: 60 s) */
        keepAliveTimeout: { type: 'string', default: '72s' },
        /** requests one kept-alive connection may carry before the server closes it */
        maxRequestsPerConnection: { type: 'integer', minimum: 1, default: 1000 },
        /** open connections in all; past it new ones are closed at once */
        maxConnections: { type: 'integer', minimum: 1, default: 10000 },
        /** open connections from one source address (trusted proxies are exempt); past it new ones are closed at once */
        maxConnectionsPerSource: { type: 'integer', minimum: 1, default: 100 },
      },
    },
    /** proxies (IPs or CIDRs) whose X-Forwarded-For names the client for rate limits and audit */
    trustedProxies: {
      type: 'array',
      items: {
        type: 'string',
        pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$',
        expected: 'an IP address or CIDR, such as 10.0.0.0/8',
      },
      default: [],
    },
    caTtl: { type: 'string', default: '8760h' },
    /** how often a new CA key takes over signing; unset: half of caTtl. The next CA is published half a period before it signs */
    caRotation: { type: 'string' },
    /** how often a new JWT-SVID signing key takes over; the next key is published half a period before it signs */
    jwtKeyRotation: { type: 'string', default: '24h' },
    /** lifetime of a JWT-SVID (at most 1h) */
    jwtSvidTtl: { type: 'string', default: '5m' },
    /** JWT-SVID signature: RS256 (RSA-2048, what AWS STS web identity federation expects) or ES256 (P-256) */
    jwtAlgorithm: { type: 'string', enum: ['RS256', 'ES256'], default: 'RS256' },
    /** X509-SVID chains remembered as verified, for JWT-SVID requests that present the same SVID again; 0 turns it off */
    svidCacheSize: { type: 'integer', minimum: 0, default: 10000 },
    /** 32 bytes, hex or base64: seals private keys at rest; required with PostgreSQL, generated into the data directory otherwise */
    keyEncryptionKey: { type: 'string' },
    keyEncryptionKeyFile: { type: 'string' },
    /** the key-encryption key being replaced: keys it sealed are sealed again with keyEncryptionKey at start */
    keyEncryptionKeyPrevious: { type: 'string' },
    keyEncryptionKeyPreviousFile: { type: 'string' },
    /** how often a replica checks the database for configuration versions pushed elsewhere, as a fallback to LISTEN/NOTIFY */
    configPollInterval: { type: 'string', default: '10s' },
    /** how long audit events are kept; 0 keeps them forever */
    auditRetention: { type: 'string', default: '365d' },
    /** how long an agent is kept after its eviction, or after its SVID expired; 0 keeps agents forever (banned ones are always kept) */
    agentRetention: { type: 'string', default: '30d' },
    /** how long a join token is kept after it expired, unless it let in an agent that still exists; 0 keeps them forever */
    joinTokenRetention: { type: 'string', default: '7d' },
    /** how often a replica runs a retention pass (one replica at a time) */
    retentionInterval: { type: 'string', default: '10m' },
    logLevel: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
  },
} as const;
