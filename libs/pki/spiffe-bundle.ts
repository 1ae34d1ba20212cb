import { X509Certificate, type JsonWebKey } from 'node:crypto';

/**
 * A trust domain's bundle in the SPIFFE Trust Domain and Bundle format: a
 * JWK Set whose X.509 authorities carry `use: x509-svid` and the CA
 * certificate as their one `x5c` entry (no `kid`, as the X509-SVID format
 * says), and whose JWT authorities carry `use: jwt-svid` and their `kid`.
 * Members neither format defines (`alg`, `use: sig`) are left out, as the
 * format asks; `/keys` keeps them for OIDC relying parties.
 */
export interface SpiffeBundle {
  keys: SpiffeBundleKey[];
  spiffe_sequence: number;
  spiffe_refresh_hint: number;
}

export type SpiffeBundleKey = (X509Authority | JwtAuthority) & Record<string, unknown>;
interface X509Authority {
  kty: string;
  use: 'x509-svid';
  x5c: [string];
}
interface JwtAuthority {
  kty: string;
  use: 'jwt-svid';
  kid: string;
}

/** The public-key members of each key type (RFC 7518, section 6). */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'x', 'y'], RSA: ['n', 'e'], OKP: ['crv', 'x'] };

export interface BundleContents {
  /** the CA certificates, PEM, the signing one first */
  caCertificatesPem: readonly string[];
  /** the JWT-SVID public keys as `/keys` publishes them */
  jwtKeys: readonly JsonWebKey[];
  sequence: number;
  refreshHintSeconds: number;
}

export function spiffeBundle(contents: BundleContents): SpiffeBundle {
  const x509 = contents.caCertificatesPem.map((pem): SpiffeBundleKey => {
    const certificate = new X509Certificate(pem);
    const jwk = certificate.publicKey.export({ format: 'jwk' });
    return { ...publicMembers(jwk), use: 'x509-svid', x5c: [certificate.raw.toString('base64')] };
  });
  const jwt = contents.jwtKeys.map((jwk): SpiffeBundleKey => {
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new Error('spiffe bundle: a JWT-SVID key has no kid');
    return { ...publicMembers(jwk), use: 'jwt-svid', kid: jwk.kid };
  });
  return {
    keys: [...x509, ...jwt],
    spiffe_sequence: contents.sequence,
    spiffe_refresh_hint: contents.refreshHintSeconds,
  };
}

function publicMembers(jwk: JsonWebKey): { kty: string } & Record<string, unknown> {
  const kty = String(jwk.kty);
  const members = PUBLIC_MEMBERS[kty];
  if (!members) throw new Error(`spiffe bundle: unsupported key type ${kty}`);
  return { kty, ...Object.fromEntries(members.map((name) => [name, jwk[name as keyof JsonWebKey]])) };
}
