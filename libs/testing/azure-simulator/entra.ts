import type { JsonAnswer } from './http';
import { mintAppToken, mintUserToken, tenantJwks } from './tokens';
import type { AzureWorld } from './world';

// Entra ID (login.microsoftonline.com) as @azure/identity and the attestor
// use it: v2.0 OpenID metadata, the tenant's keys, and the token endpoint for
// the client-credentials grant (a service principal) and the password grant
// (a user, as `az login` signs one in). Errors use Entra's OAuth error body.

const METADATA = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/;
const KEYS = /^\/([^/]+)\/discovery\/v2\.0\/keys$/;
const TOKEN = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;

export function entraOperation(method: string, path: string): string | undefined {
  if (method === 'GET' && METADATA.test(path)) return 'openid-configuration';
  if (method === 'GET' && KEYS.test(path)) return 'jwks';
  if (method === 'POST' && TOKEN.test(path)) return 'token';
  return undefined;
}

export async function entraAnswer(
  world: AzureWorld,
  authority: string,
  operation: string,
  path: string,
  body: string,
): Promise<JsonAnswer> {
  const tenantId = (METADATA.exec(path) ?? KEYS.exec(path) ?? TOKEN.exec(path))![1]!;
  if (!world.hasTenant(tenantId))
    return oauthError(400, 'invalid_tenant', `AADSTS90002: Tenant '${tenantId}' not found.`);
  if (operation === 'openid-configuration') return { status: 200, body: metadata(authority, tenantId) };
  if (operation === 'jwks') return { status: 200, body: await tenantJwks(world, tenantId) };
  return tokenGrant(world, authority, tenantId, new URLSearchParams(body));
}

function metadata(authority: string, tenantId: string): Record<string, unknown> {
  return {
    issuer: `${authority}/${tenantId}/v2.0`,
    authorization_endpoint: `${authority}/${tenantId}/oauth2/v2.0/authorize`,
    token_endpoint: `${authority}/${tenantId}/oauth2/v2.0/token`,
    device_authorization_endpoint: `${authority}/${tenantId}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${authority}/${tenantId}/oauth2/v2.0/logout`,
    jwks_uri: `${authority}/${tenantId}/discovery/v2.0/keys`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    http_logout_supported: true,
    frontchannel_logout_supported: true,
  };
}

async function tokenGrant(
  world: AzureWorld,
  authority: string,
  tenantId: string,
  form: URLSearchParams,
): Promise<JsonAnswer> {
  const grant = form.get('grant_type');
  if (grant !== 'client_credentials' && grant !== 'password')
    return oauthError(
      400,
      'unsupported_grant_type',
      'AADSTS70003: the simulator supports client_credentials and password only',
    );
  const scope = form.get('scope') ?? '';
  const resource = scope
    .split(' ')
    .find((s) => s.endsWith('/.default'))
    ?.slice(0, -'/.default'.length);
  if (resource === undefined)
    return oauthError(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
  const token =
    grant === 'password'
      ? await passwordToken(world, authority, tenantId, form, resource)
      : await clientCredentialsToken(world, authority, tenantId, form, resource);
  if (typeof token !== 'string') return token;
  return {
    status: 200,
    body: { token_type: 'Bearer', scope, expires_in: 3599, ext_expires_in: 3599, access_token: token },
  };
}

async function clientCredentialsToken(
  world: AzureWorld,
  authority: string,
  tenantId: string,
  form: URLSearchParams,
  resource: string,
): Promise<string | JsonAnswer> {
  const principal = world.servicePrincipal(tenantId, form.get('client_id') ?? '');
  if (!principal || principal.clientSecret !== form.get('client_secret'))
    return oauthError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
  return mintAppToken(world, authority, principal, resource);
}

async function passwordToken(
  world: AzureWorld,
  authority: string,
  tenantId: string,
  form: URLSearchParams,
  resource: string,
): Promise<string | JsonAnswer> {
  const clientId = form.get('client_id');
  if (!clientId)
    return oauthError(
      400,
      'invalid_request',
      "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
    );
  const user = world.user(tenantId, form.get('username') ?? '');
  if (!user || user.password !== form.get('password'))
    return oauthError(
      400,
      'invalid_grant',
      'AADSTS50126: Error validating credentials due to invalid username or password.',
    );
  return mintUserToken(world, authority, user, clientId, resource);
}

function oauthError(status: number, error: string, description: string): JsonAnswer {
  return {
    status,
    body: {
      error,
      error_description: description,
      error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
      timestamp: new Date().toISOString(),
    },
  };
}
