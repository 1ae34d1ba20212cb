import { randomBytes, X509Certificate } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { JwtSvidSigner } from './jwt-svid-signer';
import { KeyCustody } from './key-custody';
import { MemoryKeys } from './testing';
import { TrustDomainKeys, type TrustDomainKeySettings } from './trust-domain-keys';

const T0 = Date.now();
const ROTATION = 100;
const JWT_TTL = 10;
const ISSUER = 'https://issuer.example';

const settings: TrustDomainKeySettings = {
  trustDomain: 'example.org',
  caTtlSeconds: 1000,
  caRotationSeconds: ROTATION,
  jwtKeyRotationSeconds: ROTATION,
  jwtSvidTtlSeconds: JWT_TTL,
  jwtAlgorithm: 'RS256',
};
const silent = { info: () => undefined };

describe("the trust domain's key rotation", () => {
  let now: Date;
  let store: MemoryKeys;
  let keys: TrustDomainKeys;
  let signer: JwtSvidSigner;
  const kek = randomBytes(32);
  const start = async (clock = () => now) => {
    const custody = new KeyCustody(store, {
      ring: { current: kek, previous: [] },
      log: silent,
      cannotOpen: () => new Error('cannot open'),
    });
    const started = new TrustDomainKeys(settings, custody, silent, clock);
    await started.rotate();
    return started;
  };
  const advanceTo = async (seconds: number) => {
    now = new Date(T0 + seconds * 1000);
    await keys.rotate();
  };
  const certificates = () => keys.bundlePems().map((pem) => new X509Certificate(pem));
  const kids = () => keys.jwks().keys.map((k) => k.kid);
  const signingKid = async () =>
    decodeProtectedHeader((await signer.sign({ sub: 'spiffe://example.org/a', aud: ['x'] }, now)).token).kid;

  beforeEach(async () => {
    now = new Date(T0);
    store = new MemoryKeys();
    keys = await start();
    signer = new JwtSvidSigner(keys.jwtKeys, { jwtIssuer: ISSUER, jwtSvidTtlSeconds: JWT_TTL });
  });

  it('publishes the next CA and JWT key half a period before they sign, and keeps the previous until what it signed expired', async () => {
    const [firstCa] = certificates();
    const [firstKid] = kids();
    expect(certificates()).toHaveLength(1);

    await advanceTo(ROTATION / 2 - 1);
    expect(certificates()).toHaveLength(1);
    await advanceTo(ROTATION / 2);
    const [, nextCa] = certificates();
    const [, nextKid] = kids();
    expect(certificates()).toHaveLength(2);
    expect(kids()).toHaveLength(2);
    // published, not signing
    expect(keys.ca.bundlePem()).toBe(keys.bundlePem());
    expect(new X509Certificate(keys.ca.bundlePem()).fingerprint256).toBe(firstCa!.fingerprint256);
    expect(await signingKid()).toBe(firstKid);

    await advanceTo(ROTATION);
    expect(await signingKid()).toBe(nextKid);
    expect(certificates()[0]!.fingerprint256).toBe(nextCa!.fingerprint256);
    const svid = keys.ca.issueX509Svid({
      spiffeId: 'spiffe://example.org/a',
      subjectPublicKey: nextCa!.publicKey,
      ttlSeconds: 60,
      now,
    });
    expect(new X509Certificate(svid.certPem).verify(nextCa!.publicKey)).toBe(true);
    // the retired key stays in the JWKS for the tokens it signed just before the switch
    expect(kids()).toEqual([nextKid, firstKid]);

    await advanceTo(ROTATION + JWT_TTL - 1);
    expect(kids()).toContain(firstKid);
    await advanceTo(ROTATION + JWT_TTL);
    expect(kids()).not.toContain(firstKid);
    // the first CA stays until its notAfter: every SVID it signed is capped there
    expect(certificates().map((c) => c.fingerprint256)).toContain(firstCa!.fingerprint256);
    await advanceTo(1000);
    expect(certificates().map((c) => c.fingerprint256)).not.toContain(firstCa!.fingerprint256);
  });

  it('switches the signing key and drops a retired one on time between two refreshes', async () => {
    await advanceTo(ROTATION / 2);
    const [firstKid, nextKid] = kids();
    expect(await signingKid()).toBe(firstKid);
    now = new Date(T0 + ROTATION * 1000 - 1);
    expect(await signingKid()).toBe(firstKid);
    now = new Date(T0 + ROTATION * 1000);
    expect(await signingKid()).toBe(nextKid);
    expect(kids()).toEqual([nextKid, firstKid]);
    now = new Date(T0 + (ROTATION + JWT_TTL) * 1000);
    expect(kids()).toEqual([nextKid]);
  });

  it("caps a token at its key's notAfter, and tokens verify against the JWKS", async () => {
    await advanceTo(ROTATION + JWT_TTL / 2);
    // every replica was down through the pre-publication window: the overdue key signs at once
    const { token, expiresAt } = await signer.sign({ sub: 'spiffe://example.org/a', aud: ['x'] }, now);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(now.getTime() + JWT_TTL * 1000);
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), {
      issuer: ISSUER,
      audience: 'x',
      currentDate: now,
    });
    expect(payload.sub).toBe('spiffe://example.org/a');
  });

  it('reads the clock once per SPIFFE bundle: a key that leaves while it is built still raises spiffe_sequence', async () => {
    await advanceTo(ROTATION);
    const before = keys.spiffeBundle();
    // the first JWT key leaves at ROTATION + JWT_TTL; the clock crosses it between two readings
    const leaves = T0 + (ROTATION + JWT_TTL) * 1000;
    let reading = leaves - 1000;
    const ticking = await start(() => new Date(reading++));
    reading = leaves - 1;
    const during = ticking.spiffeBundle();
    expect(during.keys).toHaveLength(before.keys.length);
    expect(during.spiffe_sequence).toBe(before.spiffe_sequence);
    reading = leaves;
    const after = ticking.spiffeBundle();
    expect(after.keys).toHaveLength(before.keys.length - 1);
    expect(after.spiffe_sequence).toBeGreaterThan(before.spiffe_sequence);
  });

  it('says when the signing CA and JWT key expire', async () => {
    const ca = new X509Certificate(keys.ca.bundlePem().split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(keys.caNotAfter()).toEqual(new Date(ca.validTo));
    expect(keys.jwtKeyNotAfter()).toEqual(new Date(T0 + (ROTATION + JWT_TTL) * 1000));
    await advanceTo(ROTATION);
    expect(keys.jwtKeyNotAfter()).toEqual(new Date(T0 + (2 * ROTATION + JWT_TTL) * 1000));
  });

  it('loads keys another replica made, and signs with the same ones', async () => {
    const other = await start();
    expect(other.bundlePem()).toBe(keys.bundlePem());
    expect(other.jwks()).toEqual(keys.jwks());
  });
});
