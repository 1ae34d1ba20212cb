import { CertificateAuthority, generateCaKey, type CertificateAuthorityOptions } from '@libs/pki';
import { storedKey, type KeyCustody } from './key-custody';
import type { KeyKind } from './rotating-keys';
import type { KeyLog } from './key-store';

export const CA_PURPOSE = 'x509-ca';
const CA_ALGORITHM = 'ES256';

export interface LoadedCa {
  /** PEM, ending in one newline */
  readonly certificatePem: string;
  readonly authority: CertificateAuthority;
}

export interface CaKeyOptions {
  trustDomain: string;
  caTtlSeconds: number;
  caRotationSeconds: number;
  clock: () => Date;
  /** the whole trust bundle, which every CA's `bundlePem()` answers */
  bundlePem: () => string;
  custody: KeyCustody;
  log: KeyLog;
}

/** The stored CA is another trust domain's: a trust domain cannot change under its agents. */
export class TrustDomainChanged extends Error {
  constructor(
    readonly stored: string,
    readonly configured: string,
  ) {
    super(`the database holds the CA of trust domain "${stored}", not "${configured}"`);
  }
}

/** The CA that signs now, answering `bundlePem()` with the whole trust bundle. */
class PublishingAuthority extends CertificateAuthority {
  constructor(
    options: CertificateAuthorityOptions,
    private readonly bundle: () => string,
  ) {
    super(options);
  }

  override bundlePem(): string {
    return this.bundle();
  }
}

/** The trust domain's X.509 CA keys: a self-signed ES256 certificate each. */
export function caKeys(options: CaKeyOptions): KeyKind<LoadedCa> {
  return {
    purpose: CA_PURPOSE,
    // the first release stored the first CA as `x509-ca/1`
    idPrefix: CA_PURPOSE,
    algorithm: CA_ALGORITHM,
    periodSeconds: options.caRotationSeconds,
    make(id, activatesAt) {
      // The certificate is valid from the moment it is made, so it can be
      // published (and trusted) before it signs.
      const made = generateCaKey(options.trustDomain, options.clock(), options.caTtlSeconds);
      const sealed = options.custody.seal(made.privateKeyPem);
      const notBefore = activatesAt < made.notBefore ? made.notBefore : activatesAt;
      options.log.info(
        { keyId: id, activatesAt: notBefore.toISOString(), notAfter: made.notAfter.toISOString() },
        'identity: CA key made',
      );
      const key = {
        id,
        purpose: CA_PURPOSE,
        algorithm: CA_ALGORITHM,
        certificate: made.certificatePem,
        publicJwk: {},
        notBefore,
        notAfter: made.notAfter,
      };
      return storedKey(key, sealed);
    },
    open(stored, privateKey) {
      const certificatePem = stored.certificate ?? '';
      const authority = new PublishingAuthority({ certificatePem, privateKey }, options.bundlePem);
      // its SVIDs would all be refused by the CA (a 500 for every login): stop instead
      if (authority.trustDomain !== options.trustDomain)
        throw new TrustDomainChanged(authority.trustDomain, options.trustDomain);
      return { certificatePem: certificatePem.trimEnd() + '\n', authority };
    },
  };
}
