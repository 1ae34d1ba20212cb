import { REFRESH_INTERVAL_MS, SigningKeys } from './signing-keys';
import { TENANT, testTenant } from './testing/tokens';
import type { AzureKeySource } from '../azure/ports';
import type { JSONWebKeySet } from 'jose';

/** A tenant whose published set the test replaces (a key roll), counting fetches. */
function rollingSource(initial: JSONWebKeySet) {
  const state = { set: initial, fetches: 0, fail: false };
  const source: AzureKeySource = {
    async fetchKeys() {
      state.fetches++;
      if (state.fail) throw new Error('authority unreachable');
      return state.set;
    },
  };
  return { state, source };
}

describe('tenant signing keys', () => {
  const first = testTenant();
  const rolled = testTenant();

  it('fetches a tenant once and serves its keys from the cache', async () => {
    const { state, source } = rollingSource(await first.jwks());
    const keys = new SigningKeys(source, () => 0);
    expect(await keys.key(TENANT, first.kid)).not.toBeNull();
    expect(await keys.key(TENANT, first.kid)).not.toBeNull();
    expect(state.fetches).toBe(1);
  });

  it('refetches on an unknown kid at most once a minute, and finds a rolled key', async () => {
    let now = 0;
    const { state, source } = rollingSource(await first.jwks());
    const keys = new SigningKeys(source, () => now);
    await keys.key(TENANT, first.kid);
    state.set = { keys: [...(await first.jwks()).keys, ...(await rolled.jwks()).keys] };
    now = REFRESH_INTERVAL_MS - 1;
    expect(await keys.key(TENANT, rolled.kid)).toBeNull();
    expect(await keys.key(TENANT, 'made-up')).toBeNull();
    expect(state.fetches).toBe(1);
    now = REFRESH_INTERVAL_MS;
    expect(await keys.key(TENANT, rolled.kid)).not.toBeNull();
    expect(await keys.key(TENANT, 'made-up')).toBeNull();
    expect(state.fetches).toBe(2);
  });

  it('shares one fetch between concurrent look-ups', async () => {
    const { state, source } = rollingSource(await first.jwks());
    const keys = new SigningKeys(source, () => 0);
    await Promise.all(Array.from({ length: 20 }, () => keys.key(TENANT, first.kid)));
    expect(state.fetches).toBe(1);
  });

  it('does not remember a failed fetch', async () => {
    const { state, source } = rollingSource(await first.jwks());
    const keys = new SigningKeys(source, () => 0);
    state.fail = true;
    await expect(keys.key(TENANT, first.kid)).rejects.toThrow('authority unreachable');
    state.fail = false;
    expect(await keys.key(TENANT, first.kid)).not.toBeNull();
  });

  it('skips keys it cannot use (encryption keys, other key types, broken entries)', async () => {
    const good = (await first.jwks()).keys[0]!;
    const { source } = rollingSource({
      keys: [
        { ...good, kid: 'enc', use: 'enc' },
        { kty: 'EC', kid: 'ec', crv: 'P-256', x: 'AA', y: 'AA' },
        { kty: 'RSA', kid: 'broken', n: '', e: '' },
        good,
      ],
    });
    const keys = new SigningKeys(source, () => 0);
    expect(await keys.key(TENANT, 'enc')).toBeNull();
    expect(await keys.key(TENANT, 'ec')).toBeNull();
    expect(await keys.key(TENANT, first.kid)).not.toBeNull();
  });
});
