import { X509Certificate, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The keys that may sign an instance identity document, per region: AWS's
// published certificates shipped in `certs/` (see certs/SOURCES.md), plus or
// instead of the `AwsIidCertificates` section (policy.md), so operators can
// follow a rotation without a release. Certificates are key holders here,
// not a chain: AWS signs with the key of the certificate it publishes, and
// validity dates are not checked (AWS's run to the 2190s).

/** The `AwsIidCertificates` section's spec, as the policy lib validates it. */
export interface AwsIidCertificatesSpec {
  /** drop the shipped certificates (default false) */
  replaceBuiltIn?: boolean;
  certificates: { regions: string[]; pem: string }[];
}

/** One problem in an `AwsIidCertificates` spec, pointing at the entry. */
export interface TrustSetProblem {
  index: number;
  /** JSON pointer into the section document, as the policy lib reports errors */
  path: string;
  message: string;
}

/** A spec that cannot be used; every problem is listed, so a push is fixed in one round. */
export class IidTrustSetError extends Error {
  constructor(readonly problems: TrustSetProblem[]) {
    super(`AwsIidCertificates: ${problems.map((p) => `certificates[${p.index}]: ${p.message}`).join('; ')}`);
  }
}

export const BUILT_IN_CERTS_DIR = join(__dirname, 'certs');
const FILE = /^(.+)\.rsa2048\.pem$/;
const REGION = /^(\*|[a-z0-9-]{1,64})$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----/g;

let builtInCache: ReadonlyMap<string, X509Certificate> | undefined;

/**
 * The shipped certificates, region (from the file name) → certificate. Read
 * once per process; a file that does not parse throws, so the server refuses
 * to start rather than run with a hole in its trust set.
 */
export function builtInCertificates(dir = BUILT_IN_CERTS_DIR): ReadonlyMap<string, X509Certificate> {
  if (dir === BUILT_IN_CERTS_DIR && builtInCache !== undefined) return builtInCache;
  const out = new Map<string, X509Certificate>();
  for (const name of readdirSync(dir).sort()) {
    const match = FILE.exec(name);
    if (match === null) continue;
    const certificate = new X509Certificate(readFileSync(join(dir, name)));
    if (certificate.publicKey.asymmetricKeyType !== 'rsa')
      throw new Error(`aws_iid: built-in certificate ${name} has no RSA key`);
    out.set(match[1]!, certificate);
  }
  if (out.size === 0) throw new Error(`aws_iid: no built-in certificates in ${dir}`);
  if (dir === BUILT_IN_CERTS_DIR) builtInCache = out;
  return out;
}

/** Region → public keys, ready for the hot path (no work per login). */
export class IidTrustSet {
  private constructor(
    private readonly byRegion: ReadonlyMap<string, readonly KeyObject[]>,
    private readonly anyRegion: readonly KeyObject[],
  ) {}

  /** The shipped certificates alone. */
  static builtIn(): IidTrustSet {
    return IidTrustSet.build(undefined);
  }

  /**
   * The shipped certificates with the section applied: added to, or with
   * `replaceBuiltIn`, instead of them. Regions `["*"]` apply to every region.
   * Throws IidTrustSetError naming each bad entry.
   */
  static build(
    section: AwsIidCertificatesSpec | undefined,
    builtIn: ReadonlyMap<string, X509Certificate> = builtInCertificates(),
  ): IidTrustSet {
    const specific = new Map<string, KeyObject[]>();
    const anyRegion: KeyObject[] = [];
    const add = (region: string, key: KeyObject): void => {
      if (region === '*') anyRegion.push(key);
      else specific.set(region, [...(specific.get(region) ?? []), key]);
    };
    if (section?.replaceBuiltIn !== true) {
      for (const [region, certificate] of builtIn) add(region, certificate.publicKey);
    }
    const problems: TrustSetProblem[] = [];
    (section?.certificates ?? []).forEach((entry, index) => {
      const found = checkEntry(entry, index);
      if ('problems' in found) problems.push(...found.problems);
      else for (const region of entry.regions) add(region, found.key);
    });
    if (problems.length > 0) throw new IidTrustSetError(problems);
    // Merge the `*` keys into each region once, so forRegion is one lookup.
    const merged = new Map<string, readonly KeyObject[]>();
    for (const [region, keys] of specific) merged.set(region, [...keys, ...anyRegion]);
    return new IidTrustSet(merged, anyRegion);
  }

  /** The keys that may have signed a document of `region` (empty: none). */
  forRegion(region: string): readonly KeyObject[] {
    return this.byRegion.get(region) ?? this.anyRegion;
  }

  /** Regions with a certificate of their own (`*` keys apply on top). */
  regions(): string[] {
    return [...this.byRegion.keys()].sort();
  }

  /** Whether some certificate applies to every region. */
  get hasWildcard(): boolean {
    return this.anyRegion.length > 0;
  }
}

function checkEntry(
  entry: { regions: unknown; pem: unknown },
  index: number,
): { key: KeyObject } | { problems: TrustSetProblem[] } {
  const problems: TrustSetProblem[] = [];
  const at = (field: string, message: string): void => {
    problems.push({ index, path: `/spec/certificates/${index}/${field}`, message });
  };
  const regions = entry?.regions;
  if (!Array.isArray(regions) || regions.length === 0) at('regions', 'regions must be a non-empty list');
  else if (!regions.every((r) => typeof r === 'string' && REGION.test(r)))
    at('regions', 'regions must be region names or "*"');
  const pem = entry?.pem;
  let key: KeyObject | undefined;
  if (typeof pem !== 'string') {
    at('pem', 'pem must be a string');
  } else {
    const blocks = [...pem.matchAll(PEM_BLOCK)].map((m) => m[1]);
    if (blocks.length !== 1 || blocks[0] !== 'CERTIFICATE') {
      at('pem', 'pem must hold exactly one CERTIFICATE block');
    } else {
      try {
        key = new X509Certificate(pem).publicKey;
        if (key.asymmetricKeyType !== 'rsa') at('pem', `certificate key is ${key.asymmetricKeyType}, not RSA`);
      } catch (error) {
        at('pem', `pem is not a valid X.509 certificate (${(error as Error).message})`);
      }
    }
  }
  return problems.length > 0 || key === undefined ? { problems } : { key };
}
