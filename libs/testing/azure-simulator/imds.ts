import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson, type RunningHttp } from './http';
import { mintManagedIdentityToken, type MintOptions } from './tokens';
import type { AzureWorld, UserAssignedIdentity, Vm } from './world';

// Azure IMDS's managed-identity endpoint for one VM, on plain http as on
// 169.254.169.254: `GET /metadata/identity/oauth2/token?api-version=...&resource=...`
// with `Metadata: true` (and no X-Forwarded-For), answering Azure's token
// response, numbers as strings. `client_id`, `object_id` or `msi_res_id`
// choose one of the VM's identities; without them, the system-assigned one,
// else the only user-assigned one, as Azure does.

const TOKEN_PATH = '/metadata/identity/oauth2/token';

export interface ImdsOptions {
  /** the authority host whose v2 issuer the tokens carry (the simulator's URL) */
  authority: string;
  mint?: MintOptions;
}

export async function startAzureImds(world: AzureWorld, vm: Vm, options: ImdsOptions): Promise<RunningHttp> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://169.254.169.254');
    if (url.pathname !== TOKEN_PATH || req.method !== 'GET')
      return sendJson(res, { status: 404, body: { error: 'not_found', error_description: 'Not found' } });
    if (req.headers.metadata !== 'true' || req.headers['x-forwarded-for'] !== undefined) {
      return sendJson(res, {
        status: 400,
        body: { error: 'invalid_request', error_description: 'Required metadata header not specified' },
      });
    }
    const resource = url.searchParams.get('resource');
    if (!url.searchParams.get('api-version') || !resource) {
      return sendJson(res, {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'Required query variable(s) api-version, resource missing',
        },
      });
    }
    const chosen = chooseIdentity(world, vm, url.searchParams);
    if ('error' in chosen)
      return sendJson(res, { status: 400, body: { error: 'invalid_request', error_description: chosen.error } });
    const { identity } = chosen;
    mintManagedIdentityToken(world, options.authority, vm, resource, {
      ...options.mint,
      ...(identity && { identity }),
    }).then(
      (token) => {
        const { exp, nbf } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
          exp: number;
          nbf: number;
        };
        sendJson(res, {
          status: 200,
          body: {
            access_token: token,
            client_id: identity ? identity.clientId : vm.clientId,
            expires_in: String(exp - Math.floor(Date.now() / 1000)),
            expires_on: String(exp),
            ext_expires_in: String(exp - Math.floor(Date.now() / 1000)),
            not_before: String(nbf),
            resource,
            token_type: 'Bearer',
          },
        });
      },
      () => sendJson(res, { status: 500, body: { error: 'unknown', error_description: 'token minting failed' } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Which of the VM's identities a token request names (none: the system-assigned one), or why none (Azure's 400 text). */
function chooseIdentity(
  world: AzureWorld,
  vm: Vm,
  query: URLSearchParams,
): { identity?: UserAssignedIdentity } | { error: string } {
  const attached = vm.userAssignedIdentities
    .map((id) => world.userAssignedIdentity(id))
    .filter((identity) => identity !== undefined);
  const clientId = query.get('client_id');
  const objectId = query.get('object_id') ?? query.get('principal_id');
  const resourceId = query.get('msi_res_id') ?? query.get('mi_res_id');
  if (clientId !== null || objectId !== null || resourceId !== null) {
    if (vm.systemAssigned && (clientId === vm.clientId || objectId === vm.principalId)) return {};
    const named = attached.find(
      (i) =>
        i.clientId === clientId ||
        i.principalId === objectId ||
        i.resourceId.toLowerCase() === resourceId?.toLowerCase(),
    );
    return named ? { identity: named } : { error: 'Identity not found' };
  }
  if (vm.systemAssigned) return {};
  if (attached.length === 1) return { identity: attached[0]! };
  return {
    error:
      attached.length === 0
        ? 'Identity not found'
        : 'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
  };
}
