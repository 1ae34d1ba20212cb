import { randomBytes } from 'node:crypto';
import { login, newJoinToken } from '../support/agent';
import { until } from '../../libs/testing/until';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

describe('a restarted server', () => {
  let server: TestServer;
  afterEach(() => server.stop());

  it('keeps its CA, agents and configuration, and does not load policies/ again', async () => {
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() } });
    const bundle = await (await server.call('GET', '/v1/bundle')).text();
    const { token } = await newJoinToken(server);
    const { agentId } = (await (await login(server, { join_token: { token } })).json()) as { agentId: string };
    server = await server.restart();
    expect(await (await server.call('GET', '/v1/bundle')).text()).toBe(bundle);
    expect((await server.admin('GET', `/v1/agents/${agentId}`)).status).toBe(200);
    const versions = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as { items: unknown[] };
    expect(versions.items).toHaveLength(1);
  });

  it('with a key-encryption key, refuses to start without it or with another, and starts with it', async () => {
    const kek = randomBytes(32).toString('base64');
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() }, env: { ATTESTD_KEY_ENCRYPTION_KEY: kek } });
    const bundle = await (await server.call('GET', '/v1/bundle')).text();
    await expect(server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: '' })).rejects.toThrow(/key-encryption key required/);
    // a failed start releases what it opened (pools, listeners, timers): a second one leaves no more behind than the first
    const before = process.getActiveResourcesInfo().length;
    await expect(server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') })).rejects.toThrow(/key-encryption key does not match/);
    await until(() => process.getActiveResourcesInfo().length <= before, 5_000); // sockets still closing may take a moment
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(before);
    server = await server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: kek });
    expect(await (await server.call('GET', '/v1/bundle')).text()).toBe(bundle);
  });
});
