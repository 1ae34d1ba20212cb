import type { JWK } from 'jose';
import { spiffeBundle, type CertificateAuthority, type SpiffeBundle } from '@libs/pki';
import { caKeys, type LoadedCa } from './ca-keys';
import { jwtKeys, type JwtAlgorithm, type LoadedJwtKey } from './jwt-keys';
import type { KeyCustody } from './key-custody';
import type { KeyLog } from './key-store';
import { RotatingKeys } from './rotating-keys';

/** The settings the trust domain's keys follow (a subset of the server's). */
export interface TrustDomainKeySettings {
  trustDomain: string;
  caTtlSeconds: number;
  caRotationSeconds: number;
  jwtKeyRotationSeconds: number;
  jwtSvidTtlSeconds: number;
  jwtAlgorithm: JwtAlgorithm;
}

/**
 * The trust domain's rotating keys, shared by every replica through the
 * key store: the X.509 CA and the JWT-SVID signing keys, each rotated on
 * the schedule of `key-schedule.ts` by the same `RotatingKeys`. `rotate()`
 * picks up keys other replicas made and makes the ones now due.
 */
export class TrustDomainKeys {
  readonly cas: RotatingKeys<LoadedCa>;
  readonly jwtKeys: RotatingKeys<LoadedJwtKey>;
  private rotating: Promise<void> | undefined;

  constructor(
    private readonly settings: TrustDomainKeySettings,
    private readonly custody: KeyCustody,
    log: KeyLog,
    readonly now: () => Date = () => new Date(),
  ) {
    const bundlePem = () => this.bundlePem();
    this.cas = new RotatingKeys(caKeys({ ...settings, clock: now, bundlePem, custody, log }), custody);
    this.jwtKeys = new RotatingKeys(jwtKeys({ ...settings, algorithm: settings.jwtAlgorithm, custody, log }), custody);
  }

  /**
   * Loads the keys every replica stored, makes the ones the schedule calls
   * for, opens the ones not opened yet, and seals again the keys found
   * under an old key-encryption key. Safe to call at any time; calls do
   * not overlap.
   */
  rotate(): Promise<void> {
    this.rotating ??= this.rotateOnce().finally(() => {
      this.rotating = undefined;
    });
    return this.rotating;
  }

  /** The CA that signs X.509-SVIDs now; its `bundlePem()` is the whole trust bundle. */
  get ca(): CertificateAuthority {
    const current = this.cas.current(this.now());
    if (!current) throw new Error('identity: no CA key is loaded');
    return current.key.authority;
  }

  /** When the CA that signs now expires (its certificate's notAfter); undefined before the first rotation. */
  caNotAfter(): Date | undefined {
    return this.cas.current(this.now())?.notAfter;
  }

  /** When the JWT-SVID key that signs now leaves the JWKS; undefined before the first rotation. */
  jwtKeyNotAfter(): Date | undefined {
    return this.jwtKeys.current(this.now())?.notAfter;
  }

  /** The trust bundle: every CA certificate not yet past its notAfter, the signing one first. */
  bundlePems(now = this.now()): string[] {
    return this.cas.published(now).map((ca) => ca.certificatePem);
  }

  bundlePem(): string {
    return this.bundlePems().join('');
  }

  /** The JWKS of JWT-SVID keys: the signing one, the next one, and the retired ones whose tokens may still be valid. */
  jwks(now = this.now()): { keys: JWK[] } {
    return { keys: this.jwtKeys.published(now).map((key) => key.publicJwk) };
  }

  /**
   * The trust bundle in the SPIFFE format, for federation: the published CA
   * certificates and JWT-SVID keys. `spiffe_sequence` counts the changes of
   * the published set (a key made, a key past its notAfter), so every
   * replica derives the same number from the same rows and it only grows.
   * The refresh hint is an eighth of the shorter rotation period (at most
   * 5 minutes): a federated server sees a new key several times within the
   * half period it is published before it signs. One instant decides it
   * all, so a key leaving the set between two readings of the clock cannot
   * change the keys without changing the sequence.
   */
  spiffeBundle(): SpiffeBundle {
    const now = this.now();
    const ca = this.cas.counts(now);
    const jwt = this.jwtKeys.counts(now);
    const shortest = Math.min(this.settings.caRotationSeconds, this.settings.jwtKeyRotationSeconds);
    return spiffeBundle({
      caCertificatesPem: this.bundlePems(now),
      jwtKeys: this.jwks(now).keys,
      sequence: ca.stored + ca.expired + jwt.stored + jwt.expired,
      refreshHintSeconds: Math.max(1, Math.min(300, Math.floor(shortest / 8))),
    });
  }

  /** Algorithms `/keys` may hold: the configured one and any still-published older one. */
  jwtAlgorithms(): string[] {
    return [...new Set([this.settings.jwtAlgorithm, ...this.jwks().keys.map((k) => String(k.alg))])];
  }

  private async rotateOnce(): Promise<void> {
    const now = this.now();
    await this.cas.refresh(now);
    await this.jwtKeys.refresh(now);
    await this.custody.resealStale();
  }
}
