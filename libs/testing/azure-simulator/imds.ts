import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson, type RunningHttp } from './http';
import { mintManagedIdentityToken, type MintOptions } from './tokens';
import type { AzureWorld, Vm } from './world';

// Azure IMDS's managed-identity endpoint for one VM, on plain http as on
// 169.254.169.254: `GET /metadata/identity/oauth2/token?api-version=...&resource=...`
// with `Metadata: true` (and no X-Forwarded-For), answering Azure's token
// response, numbers as strings.

const TOKEN_PATH = '/metadata/identity/oauth2/token';

export interface ImdsOptions {
  /** the authority host whose v2 issuer the tokens carry (the simulator's URL) */
  authority: string;
  mint?: MintOptions;
}

export async function startAzureImds(world: AzureWorld, vm: Vm, options: ImdsOptions): Promise<RunningHttp> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://169.254.169.254');
    if (url.pathname !== TOKEN_PATH || req.method !== 'GET') return sendJson(res, { status: 404, body: { error: 'not_found', error_description: 'Not found' } });
    if (req.headers.metadata !== 'true' || req.headers['x-forwarded-for'] !== undefined) {
      return sendJson(res, { status: 400, body: { error: 'invalid_request', error_description: 'Required metadata header not specified' } });
    }
    const resource = url.searchParams.get('resource');
    if (!url.searchParams.get('api-version') || !resource) {
      return sendJson(res, { status: 400, body: { error: 'invalid_request', error_description: 'Required query variable(s) api-version, resource missing' } });
    }
    mintManagedIdentityToken(world, options.authority, vm, resource, options.mint).then(
      (token) => {
        const { exp, nbf } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number; nbf: number };
        sendJson(res, {
          status: 200,
          body: {
            access_token: token,
            client_id: vm.principalId,
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
