import { loadSettings } from './settings';

describe('key rotation and JWT-SVID settings', () => {
  it('defaults: CA rotation at half of caTtl, JWT keys daily, 5-minute RS256 JWT-SVIDs', () => {
    expect(loadSettings({})).toMatchObject({
      caTtlSeconds: 8760 * 3600,
      caRotationSeconds: 4380 * 3600,
      jwtKeyRotationSeconds: 86_400,
      jwtSvidTtlSeconds: 300,
      jwtAlgorithm: 'RS256',
    });
  });

  it('reads them from the environment', () => {
    const settings = loadSettings({
      ATTESTD_CA_TTL: '48h',
      ATTESTD_CA_ROTATION: '12h',
      ATTESTD_JWT_KEY_ROTATION: '6h',
      ATTESTD_JWT_SVID_TTL: '90s',
      ATTESTD_JWT_ALGORITHM: 'ES256',
    });
    expect(settings).toMatchObject({
      caTtlSeconds: 172_800,
      caRotationSeconds: 43_200,
      jwtKeyRotationSeconds: 21_600,
      jwtSvidTtlSeconds: 90,
      jwtAlgorithm: 'ES256',
    });
  });

  it.each([
    [
      { ATTESTD_CA_TTL: '10h', ATTESTD_CA_ROTATION: '6h' },
      /caRotation \(ATTESTD_CA_ROTATION\): must be between 1s and half of caTtl/,
    ],
    [{ ATTESTD_CA_ROTATION: 'often' }, /caRotation \(ATTESTD_CA_ROTATION\)/],
    [{ ATTESTD_JWT_KEY_ROTATION: 'never' }, /jwtKeyRotation \(ATTESTD_JWT_KEY_ROTATION\)/],
    [{ ATTESTD_JWT_SVID_TTL: '2h' }, /jwtSvidTtl \(ATTESTD_JWT_SVID_TTL\): must be between 1s and 1h/],
    [{ ATTESTD_JWT_ALGORITHM: 'HS256' }, /jwtAlgorithm \(ATTESTD_JWT_ALGORITHM\)/],
  ])('refuses %j naming the setting', (env, message) => {
    expect(() => loadSettings(env)).toThrow(message);
  });
});
