import { generateClusterKey, type ClusterKey } from '@libs/testing/k8s-issuer/keys';
import { REFRESH_INTERVAL_MS, RemoteKeySets } from './remote-keys';

const URI = 'https://oidc.example/keys';

describe('RemoteKeySets', () => {
  let first: ClusterKey;
  let rotated: ClusterKey;
  beforeAll(async () => {
    [first, rotated] = await Promise.all([generateClusterKey('RS256'), generateClusterKey('ES256')]);
  });

  function setup() {
    let published: ClusterKey[] = [first];
    let clock = 1_000_000;
    const fetches: string[] = [];
    const sets = new RemoteKeySets(
      {
        fetchKeys: async (uri) => (
          fetches.push(uri),
          { keys: [...published.map((k) => k.publicJwk), { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }] }
        ),
      },
      () => clock,
    );
    return {
      sets,
      fetches,
      publish: (keys: ClusterKey[]) => (published = keys),
      advance: (ms: number) => (clock += ms),
    };
  }

  it('fetches once and serves known kids from the cache', async () => {
    const { sets, fetches } = setup();
    expect((await sets.key(URI, first.kid))?.alg).toBe('RS256');
    await sets.key(URI, first.kid);
    expect(fetches).toHaveLength(1);
  });

  it('refetches on an unknown kid after a minute (key rotation), not before', async () => {
    const { sets, fetches, publish, advance } = setup();
    await sets.key(URI, first.kid);
    publish([first, rotated]);
    expect(await sets.key(URI, rotated.kid)).toBeNull();
    expect(fetches).toHaveLength(1);
    advance(REFRESH_INTERVAL_MS);
    expect((await sets.key(URI, rotated.kid))?.alg).toBe('ES256');
    expect(fetches).toHaveLength(2);
  });

  it('refetches at most once a minute however many unknown kids arrive', async () => {
    const { sets, fetches, advance } = setup();
    await sets.key(URI, first.kid);
    advance(REFRESH_INTERVAL_MS);
    for (let i = 0; i < 20; i += 1) await sets.key(URI, `made-up-${i}`);
    expect(fetches).toHaveLength(2);
  });

  it('skips keys that are not RS256/ES256 signature keys', async () => {
    const { sets } = setup();
    expect(await sets.key(URI, 'hmac')).toBeNull();
  });

  it('shares one fetch between concurrent look-ups and does not remember a failure', async () => {
    let calls = 0;
    const sets = new RemoteKeySets({
      fetchKeys: async () => (
        (calls += 1),
        calls === 1 ? Promise.reject(new Error('down')) : { keys: [first.publicJwk] }
      ),
    });
    await expect(Promise.all([sets.key(URI, first.kid), sets.key(URI, first.kid)])).rejects.toThrow('down');
    expect(calls).toBe(1);
    expect(await sets.key(URI, first.kid)).not.toBeNull();
  });
});
