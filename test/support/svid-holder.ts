import { randomBytes } from 'node:crypto';
import { CompactSign } from 'jose';
import { generateAgentKey, type AgentKey } from '@apps/agent/keys';
import { login, newJoinToken } from './agent';
import type { TestServer } from './server';

/** An agent that logged in with a join token and holds its X.509-SVID and key. */
export interface Held {
  agentId: string;
  spiffeId: string;
  certChain: string;
  key: AgentKey;
}

export async function attest(server: TestServer): Promise<Held> {
  const { token } = await newJoinToken(server);
  const key = await generateAgentKey();
  const response = await login(server, { join_token: { token } }, key.csrPem);
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { agentId: string; spiffeId: string; svid: { certChain: string } };
  return { agentId: body.agentId, spiffeId: body.spiffeId, certChain: body.svid.certChain, key };
}

/** The proof of possession of the SVID's key that `/v1/agent/jwt-svid` asks for. */
export async function pop(held: Held, claims: Record<string, unknown> = {}): Promise<string> {
  const payload = {
    aud: 'attestd-jwt-svid',
    iat: Math.floor(Date.now() / 1000),
    jti: randomBytes(16).toString('base64url'),
    ...claims,
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256' })
    .sign(held.key.keyPair.privateKey);
}

export async function mint(
  server: TestServer,
  held: Held,
  audience = ['sts.amazonaws.com'],
  claims: Record<string, unknown> = {},
): Promise<Response> {
  return server.call('POST', '/v1/agent/jwt-svid', {
    body: { certChain: held.certChain, pop: await pop(held, claims), audience },
  });
}

/** A JWT-SVID for `audience`, or an error naming the refusal. */
export async function mintJwtSvid(server: TestServer, held: Held, audience: string[]): Promise<string> {
  const response = await mint(server, held, audience);
  if (response.status !== 200) throw new Error(`jwt-svid failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
