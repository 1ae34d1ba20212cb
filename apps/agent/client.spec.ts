import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentApiError, AgentClient, ServerUnreachableError } from './client';
import { problem, startFakeAttestd, type FakeAttestd, type FakeAttestdOptions } from './testing/fake-attestd';

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('AgentClient', () => {
  let fake: FakeAttestd;
  const start = async (options: FakeAttestdOptions = {}) => {
    fake = await startFakeAttestd({ joinTokens: { T: 'tok-1' }, ...options });
    return new AgentClient({ server: fake.url });
  };
  afterEach(async () => {
    await fake?.close();
  });

  it('starts a login by posting the provided methods as JSON', async () => {
    const client = await start();
    const login = await client.startLogin(['join_token']);
    expect(login).toEqual({
      loginId: expect.any(String),
      expiresAt: expect.any(String),
      requiredAttestors: ['join_token'],
      challenges: {},
    });
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request).toMatchObject({
      method: 'POST',
      path: '/v1/agent/login',
      body: { providedMethods: ['join_token'] },
    });
    expect(request!.headers['content-type']).toBe('application/json');
  });

  it('keeps a path prefix and drops trailing slashes of the server URL', async () => {
    await start({
      intercept: (route) =>
        route === 'other'
          ? { status: 200, body: { loginId: 'l', expiresAt: 'e', requiredAttestors: [], challenges: {} } }
          : undefined,
    });
    const client = new AgentClient({ server: `${fake.url}/attestd//` });
    await client.startLogin(['join_token']);
    expect(fake.requests[0]!.path).toBe('/attestd/v1/agent/login');
  });

  it('escapes the login id in the complete path', async () => {
    const client = await start({
      intercept: (route) => (route === 'other' ? { status: 404, body: problem('login_not_found', 'nope') } : undefined),
    });
    await caught(client.completeLogin('a/b?c#d', {}, 'csr'));
    expect(fake.requests[0]!.path).toBe('/v1/agent/login/a%2Fb%3Fc%23d/complete');
  });

  it('turns a 401 problem into an AgentApiError with status, code and detail', async () => {
    const client = await start();
    const login = await client.startLogin(['join_token']);
    const error = await caught(client.completeLogin(login.loginId, { join_token: { token: 'wrong' } }, 'csr'));
    expect(error).toBeInstanceOf(AgentApiError);
    expect(error).toMatchObject({
      operation: 'login',
      status: 401,
      code: 'attestation_failed',
      detail: 'join_token: token is unknown, expired or already used',
      requestId: expect.any(String),
      message: 'login failed: 401 attestation_failed: join_token: token is unknown, expired or already used',
    });
  });

  it('turns a 403 at login start into an AgentApiError', async () => {
    const client = await start({ policyRequires: ['aws_iid'] });
    await expect(client.startLogin(['join_token'])).rejects.toMatchObject({
      status: 403,
      code: 'no_policy_for_methods',
      message: 'login failed: 403 no_policy_for_methods: no cluster policy authorizes the provided attestors',
    });
  });

  it('reads Retry-After from a 429', async () => {
    const client = await start({
      intercept: () => ({ status: 429, headers: { 'retry-after': '7' }, body: problem('rate_limited', 'slow down') }),
    });
    await expect(client.startLogin(['join_token'])).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: 7,
    });
  });

  it('reports an error answer that is not a problem document', async () => {
    const client = await start({
      intercept: () => ({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html>bad gateway</html>' }),
    });
    await expect(client.startLogin(['join_token'])).rejects.toMatchObject({
      status: 502,
      code: 'unexpected_response',
      message: 'login failed: 502 unexpected_response: answer is not a JSON document (text/html)',
    });
  });

  it('strips control characters from the server-provided detail', async () => {
    const client = await start({
      intercept: () => ({ status: 403, body: problem('policy_denied', 'denied\u001b[31m\nnext') }),
    });
    await expect(client.startLogin(['join_token'])).rejects.toMatchObject({ detail: 'denied [31m next' });
  });

  it('rejects a success answer that is not JSON', async () => {
    const client = await start({
      intercept: () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' }),
    });
    await expect(client.startLogin(['join_token'])).rejects.toMatchObject({
      code: 'unexpected_response',
      detail: 'answer is not a JSON document (text/plain)',
    });
  });

  it('rejects a success answer that lacks a field the agent needs', async () => {
    const client = await start({
      intercept: (route) =>
        route === 'complete'
          ? { status: 200, body: { agentId: 'a', spiffeId: 's', svid: { expiresAt: 'e' }, bundle: 'b' } }
          : undefined,
    });
    const login = await client.startLogin(['join_token']);
    await expect(client.completeLogin(login.loginId, {}, 'csr')).rejects.toMatchObject({
      code: 'unexpected_response',
      detail: 'login complete answer lacks svid.certChain',
    });
  });

  it('does not follow redirects, so proofs never go elsewhere', async () => {
    const client = await start({
      intercept: (route) => (route === 'login' ? { status: 307, headers: { location: '/elsewhere' } } : undefined),
    });
    const error = await caught(client.startLogin(['join_token']));
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toBe(
      `login failed: cannot reach attestd at ${fake.url}: it answered with a redirect, which the agent does not follow`,
    );
    expect(fake.requests.map((request) => request.path)).toEqual(['/v1/agent/login']);
  });

  it('names the server when it cannot connect', async () => {
    const url = await closedPortUrl();
    const error = await caught(new AgentClient({ server: url }).startLogin(['join_token']));
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toBe(
      `login failed: cannot reach attestd at ${url}: connect ECONNREFUSED ${url.slice(7)}`,
    );
  });

  it('gives up after the timeout', async () => {
    await start({ intercept: () => ({ status: 200, body: {}, delayMs: 1000 }) });
    const client = new AgentClient({ server: fake.url, timeoutMs: 100 });
    await expect(client.startLogin(['join_token'])).rejects.toThrow(
      `login failed: cannot reach attestd at ${fake.url}: no answer within 0.1 s`,
    );
  });
});
