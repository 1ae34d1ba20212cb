import { X509Certificate, createPublicKey } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { until } from '@libs/testing/until';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { attest, mintJwtSvid } from '../support/svid-holder';

/**
 * The SPIFFE bundle endpoint as a federated SPIRE server reads it: a JWK
 * Set in the SPIFFE Trust Domain and Bundle format whose authorities are
 * exactly the keys attestd signs with (the CA bundle, the JWKS), and whose
 * sequence grows when the keys rotate.
 */

interface BundleDocument {
  keys: Record<string, unknown>[];
  spiffe_sequence: number;
  spiffe_refresh_hint: number;
}

const PATH = '/.well-known/spiffe-bundle';
/** members each SVID format allows on its JWK: key type and public key, `use`, and `x5c` or `kid` */
const ALLOWED = {
  'x509-svid': ['kty', 'use', 'x5c', 'crv', 'x', 'y', 'n', 'e'],
  'jwt-svid': ['kty', 'use', 'kid', 'crv', 'x', 'y', 'n', 'e'],
} as const;

async function fetchBundle(server: TestServer): Promise<BundleDocument> {
  const response = await server.call('GET', PATH);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as BundleDocument;
}

const pemsOf = async (server: TestServer) =>
  (await (await server.call('GET', '/v1/bundle')).text()).match(
    /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g,
  ) ?? [];
const jwksOf = async (server: TestServer) =>
  ((await (await server.call('GET', '/keys')).json()) as { keys: JWK[] }).keys;
const x509Keys = (bundle: BundleDocument) => bundle.keys.filter((key) => key.use === 'x509-svid');
const jwtKeys = (bundle: BundleDocument) => bundle.keys.filter((key) => key.use === 'jwt-svid');
const publicPart = (jwk: Record<string, unknown>) =>
  Object.fromEntries(
    ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid']
      .filter((name) => jwk[name] !== undefined)
      .map((name) => [name, jwk[name]]),
  );

/** The format's rules (SPIFFE Trust Domain and Bundle 4.x, X509-SVID and JWT-SVID "bundle" sections). */
function expectSpiffeBundleFormat(bundle: BundleDocument, trustDomain: string): void {
  expect(Number.isSafeInteger(bundle.spiffe_sequence) && bundle.spiffe_sequence > 0).toBe(true);
  expect(Number.isSafeInteger(bundle.spiffe_refresh_hint) && bundle.spiffe_refresh_hint > 0).toBe(true);
  expect(Array.isArray(bundle.keys)).toBe(true);
  for (const key of bundle.keys) {
    expect(['x509-svid', 'jwt-svid']).toContain(key.use);
    expect(typeof key.kty).toBe('string');
    const use = key.use as keyof typeof ALLOWED;
    expect({
      use,
      extra: Object.keys(key).filter((name) => !(ALLOWED[use] as readonly string[]).includes(name)),
    }).toEqual({ use, extra: [] });
    if (use === 'x509-svid') {
      // exactly one certificate, standard base64 DER; a CA of this trust domain whose key is the JWK's
      expect(key.x5c).toEqual([expect.stringMatching(/^[A-Za-z0-9+/]+=*$/)]);
      const certificate = new X509Certificate(Buffer.from((key.x5c as string[])[0]!, 'base64'));
      expect(certificate.ca).toBe(true);
      expect(certificate.subjectAltName).toBe(`URI:spiffe://${trustDomain}`);
      expect(publicPart(certificate.publicKey.export({ format: 'jwk' }) as Record<string, unknown>)).toEqual(
        publicPart(key),
      );
    } else {
      expect(key.kid).toEqual(expect.stringMatching(/./));
      // a usable public key, nothing private
      expect(createPublicKey({ key: key as JWK & { kty: string }, format: 'jwk' }).type).toBe('public');
    }
  }
  const kids = jwtKeys(bundle).map((key) => key.kid);
  expect(new Set(kids).size).toBe(kids.length);
}

describe('the SPIFFE bundle endpoint', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() } });
  });
  afterAll(() => server?.stop());

  it('serves the trust domain bundle in the SPIFFE format, open to anyone, cacheable for its refresh hint', async () => {
    const response = await server.call('GET', PATH);
    const bundle = (await response.json()) as BundleDocument;
    expectSpiffeBundleFormat(bundle, 'example.org');
    expect(response.headers.get('cache-control')).toBe(`public, max-age=${bundle.spiffe_refresh_hint}`);
    expect(bundle.spiffe_refresh_hint).toBeLessThanOrEqual(300);
  });

  it('holds exactly the CA certificates of /v1/bundle and the JWT keys of /keys', async () => {
    const bundle = await fetchBundle(server);
    const certificates = x509Keys(bundle).map((key) =>
      new X509Certificate(Buffer.from((key.x5c as string[])[0]!, 'base64')).toString(),
    );
    expect(certificates).toEqual((await pemsOf(server)).map((pem) => new X509Certificate(pem).toString()));
    expect(jwtKeys(bundle).map(publicPart)).toEqual(
      (await jwksOf(server)).map((jwk) => publicPart(jwk as Record<string, unknown>)),
    );
    expect(x509Keys(bundle).length).toBeGreaterThan(0);
    expect(jwtKeys(bundle).length).toBeGreaterThan(0);
  });

  it('verifies what attestd issues, as a federated relying party would: an X.509-SVID and a JWT-SVID', async () => {
    const bundle = await fetchBundle(server);
    const held = await attest(server);
    const leaf = new X509Certificate(held.certChain);
    const authorities = x509Keys(bundle).map(
      (key) => new X509Certificate(Buffer.from((key.x5c as string[])[0]!, 'base64')),
    );
    expect(authorities.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))).toBe(true);

    const token = await mintJwtSvid(server, held, ['spire-federated']);
    // jose only picks keys meant for `use: sig`; a SPIFFE relying party takes the jwt-svid keys by kid
    const keys = jwtKeys(bundle).map((key) => ({ ...key, use: undefined }) as JWK);
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }), { audience: 'spire-federated' });
    expect(payload.sub).toBe(held.spiffeId);
  });
});

describe('the SPIFFE bundle endpoint across a key rotation', () => {
  let server: TestServer;
  beforeAll(async () => {
    // the next CA and JWT key are made about 5 s after start and sign from 10 s;
    // a retired JWT key leaves after its last token (2 s) expired
    server = await startTestServer({
      env: {
        ATTESTD_CA_TTL: '1m',
        ATTESTD_CA_ROTATION: '10s',
        ATTESTD_JWT_KEY_ROTATION: '10s',
        ATTESTD_JWT_SVID_TTL: '2s',
      },
    });
  });
  afterAll(() => server?.stop());

  it('raises spiffe_sequence whenever the published keys change, and always matches the keys in use', async () => {
    const first = await fetchBundle(server);
    expectSpiffeBundleFormat(first, 'example.org');
    const kidsOf = (bundle: BundleDocument) => jwtKeys(bundle).map((key) => key.kid);

    // the next keys are published: more keys, a higher sequence
    let published = first;
    expect(
      await until(
        async () => x509Keys((published = await fetchBundle(server))).length === 2 && jwtKeys(published).length === 2,
        30_000,
      ),
    ).toBe(true);
    expect(published.spiffe_sequence).toBeGreaterThan(first.spiffe_sequence);
    expectSpiffeBundleFormat(published, 'example.org');

    // the first JWT key leaves once its tokens expired: fewer keys, a higher sequence again
    let retired = published;
    expect(
      await until(async () => !kidsOf((retired = await fetchBundle(server))).includes(kidsOf(first)[0]), 30_000),
    ).toBe(true);
    expect(retired.spiffe_sequence).toBeGreaterThan(published.spiffe_sequence);
    expect(jwtKeys(retired).map(publicPart)).toEqual(
      (await jwksOf(server)).map((jwk) => publicPart(jwk as Record<string, unknown>)),
    );
  }, 90_000);
});
