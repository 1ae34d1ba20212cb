import { generateAgentKey } from '@apps/agent/keys';
import type { TestServer } from './server';

/** Starts and completes a login the way the reference agent does, returning the raw response. */
export async function login(server: TestServer, proofs: Record<string, unknown>, csr?: string): Promise<Response> {
  const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: Object.keys(proofs) } });
  if (started.status !== 200) return started;
  const { loginId } = (await started.json()) as { loginId: string };
  return completeLogin(server, loginId, proofs, csr);
}

/** The first half of `login`: the login ID, which must be granted. */
export async function startLogin(server: TestServer, providedMethods: string[]): Promise<string> {
  const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods } });
  if (started.status !== 200) throw new Error(`login start: ${started.status} ${await started.text()}`);
  return ((await started.json()) as { loginId: string }).loginId;
}

/** The second half of `login`, returning the raw response. */
export async function completeLogin(
  server: TestServer,
  loginId: string,
  proofs: Record<string, unknown>,
  csr?: string,
): Promise<Response> {
  return server.call('POST', `/v1/agent/login/${loginId}/complete`, {
    body: { proofs, csr: csr ?? (await generateAgentKey()).csrPem },
  });
}

export async function newJoinToken(server: TestServer, ttlSeconds = 600): Promise<{ id: string; token: string }> {
  const response = await server.admin('POST', '/v1/join-tokens', { ttlSeconds });
  if (response.status !== 201) throw new Error(`join token: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; token: string };
}

export async function problemOf(
  response: Response,
): Promise<{ status: number; code: string; detail: string; contentType: string | null }> {
  const body = (await response.json()) as { code: string; detail: string };
  return {
    status: response.status,
    code: body.code,
    detail: body.detail,
    contentType: response.headers.get('content-type'),
  };
}
