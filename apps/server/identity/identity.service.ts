import { createHmac, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { calculateJwkThumbprint, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { CertificateAuthority, generateCaKey, openWithKeyRing, sealPrivateKey, spiffeBundle, type CertificateAuthorityOptions, type KeyRing, type SpiffeBundle } from '../../../libs/pki';
import { KeysRepository, type StoredKey } from '../../../libs/persistence';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import { envName, SettingsError, type Settings } from '../settings/settings';
import { LoginIdCodec } from '../login/login-id';
import { INSTRUMENTS } from '../telemetry/instruments';
import { Metrics } from '../telemetry/metrics';
import { planKeys, tickMilliseconds, type KeyPlan, type ScheduledKey } from './key-schedule';

const CA_PURPOSE = 'x509-ca';
const CA_ALGORITHM = 'ES256';
/** the first CA's id, as the first release stored it */
const FIRST_CA_KEY_ID = 'x509-ca/1';
const JWT_PURPOSE = 'jwt-svid';
const LOGIN_MAC_KEY_ID = 'login-mac/1';
const ADMIN_ACTOR_KEY_ID = 'admin-actor-mac/1';

/** The identity service's clock; tests inject one to walk through a rotation. */
export const IDENTITY_CLOCK = Symbol('IDENTITY_CLOCK');
export type Clock = () => Date;

/** A stored key with its schedule: `activatesAt` is the row's not_before. */
interface Row extends ScheduledKey {
  readonly stored: StoredKey;
}

interface LoadedCa {
  readonly certificatePem: string;
  readonly authority: PublishingAuthority;
}

interface LoadedJwtKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
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

/**
 * The trust domain's keys, shared by every replica through the database
 * (sealed with the key-encryption key when one is set): the X.509 CA and
 * the JWT-SVID signing keys, each rotated on the schedule of
 * `key-schedule.ts`, and the login-ID MAC key. A timer re-plans and picks
 * up keys other replicas made; which key signs is decided at each use.
 */
@Injectable()
export class IdentityService implements OnModuleInit, OnModuleDestroy {
  private caRows: Row[] = [];
  private jwtRows: Row[] = [];
  private readonly cas = new Map<string, LoadedCa>();
  private readonly jwtKeys = new Map<string, LoadedJwtKey>();
  private codec: LoginIdCodec | undefined;
  private actorKey: KeyObject | undefined;
  /** keys opened but stored in plaintext or under a previous key-encryption key: sealed again with the current one */
  private readonly stale: { stored: StoredKey; pem: string }[] = [];
  private readonly ring: KeyRing;
  private timer: NodeJS.Timeout | undefined;
  private rotating: Promise<void> | undefined;
  private readonly clock: Clock;

  constructor(
    private readonly keys: KeysRepository,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(IDENTITY_CLOCK) clock?: Clock,
    @Optional() private readonly metrics?: Metrics,
  ) {
    this.clock = clock ?? (() => new Date());
    // settings require one on PostgreSQL and the start settles one for the embedded database (custody/key-custody.ts)
    if (!settings.keyEncryptionKey) throw new Error('identity: no key-encryption key was settled');
    this.ring = { current: settings.keyEncryptionKey, previous: settings.previousKeyEncryptionKeys.map((p) => p.key) };
  }

  async onModuleInit(): Promise<void> {
    this.codec = new LoginIdCodec(await this.secretKey(LOGIN_MAC_KEY_ID, 'login-mac'));
    this.actorKey = createSecretKey(await this.secretKey(ADMIN_ACTOR_KEY_ID, 'admin-actor-mac'));
    await this.rotate();
    // a zero series from the start, so the alert's increase() sees the first failure
    this.metrics?.count(INSTRUMENTS.keyRotationFailures, {}, 0);
    this.metrics?.observe(INSTRUMENTS.caExpiry, () => expiryObservation(this.signingKeyExpiry().ca));
    this.metrics?.observe(INSTRUMENTS.jwtKeyExpiry, () => expiryObservation(this.signingKeyExpiry().jwt));
    const every = tickMilliseconds(this.settings.caRotationSeconds, this.settings.jwtKeyRotationSeconds);
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  now(): Date {
    return this.clock();
  }

  /**
   * Loads the keys every replica stored, makes the ones the schedule calls
   * for, and opens the ones not opened yet. Safe to call at any time; calls
   * do not overlap.
   */
  async rotate(): Promise<void> {
    this.rotating ??= this.rotateOnce().finally(() => {
      this.rotating = undefined;
    });
    return this.rotating;
  }

  /** The CA that signs X.509-SVIDs now; its `bundlePem()` is the whole trust bundle. */
  get ca(): CertificateAuthority {
    const current = this.caPlan().current;
    const authority = current && this.cas.get(current.id)?.authority;
    if (!authority) throw new Error('identity: no CA key is loaded');
    return authority;
  }

  /** The trust bundle: every CA certificate not yet past its notAfter, the signing one first. */
  bundlePems(): string[] {
    return this.caPlan()
      .published.map((row) => this.cas.get(row.id)?.certificatePem)
      .filter((pem): pem is string => pem !== undefined);
  }

  bundlePem(): string {
    return this.bundlePems().join('');
  }

  /** The JWKS of JWT-SVID keys: the signing one, the next one, and the retired ones whose tokens may still be valid. */
  jwks(): { keys: JWK[] } {
    return {
      keys: this.jwtPlan()
        .published.map((row) => this.jwtKeys.get(row.id)?.publicJwk)
        .filter((jwk): jwk is JWK => jwk !== undefined),
    };
  }

  /**
   * The trust bundle in the SPIFFE format, for federation: the published CA
   * certificates and JWT-SVID keys. `spiffe_sequence` counts the changes of
   * the published set (a key made, a key past its notAfter), so every
   * replica derives the same number from the same rows and it only grows.
   * The refresh hint is an eighth of the shorter rotation period (at most
   * 5 minutes): a federated server sees a new key several times within the
   * half period it is published before it signs.
   */
  spiffeBundle(): SpiffeBundle {
    const now = this.clock().getTime();
    const rows = [...this.caRows, ...this.jwtRows];
    const expired = rows.filter((row) => row.notAfter.getTime() <= now).length;
    const shortest = Math.min(this.settings.caRotationSeconds, this.settings.jwtKeyRotationSeconds);
    return spiffeBundle({
      caCertificatesPem: this.bundlePems(),
      jwtKeys: this.jwks().keys,
      sequence: rows.length + expired,
      refreshHintSeconds: Math.max(1, Math.min(300, Math.floor(shortest / 8))),
    });
  }

  /** When the CA that signs now and the JWT-SVID key that signs now expire (their notAfter), for the expiry gauges. */
  signingKeyExpiry(): { ca?: Date; jwt?: Date } {
    return { ca: this.caPlan().current?.notAfter, jwt: this.jwtPlan().current?.notAfter };
  }

  /** Algorithms `/keys` may hold: the configured one and any still-published older one. */
  jwtAlgorithms(): string[] {
    return [...new Set([this.settings.jwtAlgorithm, ...this.jwks().keys.map((k) => String(k.alg))])];
  }

  /**
   * Signs a JWT-SVID with the current key. `exp` is capped at the key's
   * notAfter, so the key stays in the JWKS until every token it signed expired.
   */
  async signJwtSvid(claims: { sub: string; aud: string[] }, now: Date): Promise<{ token: string; expiresAt: Date }> {
    const current = this.jwtPlan().current;
    const key = current && this.jwtKeys.get(current.id);
    if (!current || !key) throw new Error('identity: no JWT-SVID key is loaded');
    const iat = Math.floor(now.getTime() / 1000);
    const exp = Math.min(iat + this.settings.jwtSvidTtlSeconds, Math.floor(current.notAfter.getTime() / 1000));
    const payload: JWTPayload = { iss: this.settings.jwtIssuer, sub: claims.sub, aud: claims.aud, iat, exp };
    const token = await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  get loginIds(): LoginIdCodec {
    if (!this.codec) throw new Error('identity keys are not loaded');
    return this.codec;
  }

  /**
   * A stable, non-secret name for an admin token in the audit log and in
   * `createdBy`: a MAC of the token's hash under a key only the server holds,
   * so a viewer who reads it learns nothing that helps guess the token (an
   * unkeyed hash prefix would let them test guesses offline). The same on
   * every replica and across restarts.
   */
  adminActorId(tokenHash: Buffer): string {
    if (!this.actorKey) throw new Error('identity keys are not loaded');
    return createHmac('sha256', this.actorKey).update(tokenHash).digest('hex').slice(0, 16);
  }

  /** A 32-byte server secret shared by every replica: made once, stored sealed like the signing keys. */
  private async secretKey(id: string, purpose: string): Promise<Buffer> {
    const stored = await this.keys.getOrCreate(id, () => {
      const sealed = sealPrivateKey(randomBytes(32).toString('base64'), this.ring.current);
      return storedKey(id, purpose, 'HS256', null, {}, sealed, new Date(), new Date('9999-12-31T00:00:00Z'));
    });
    return Buffer.from(this.open(stored), 'base64');
  }

  private async tick(): Promise<void> {
    try {
      await this.rotate();
    } catch (error) {
      // The keys in memory keep signing; the next tick tries again.
      this.metrics?.count(INSTRUMENTS.keyRotationFailures, {});
      this.logger.warn({ err: error }, 'identity: key rotation failed; retrying');
    }
  }

  private async rotateOnce(): Promise<void> {
    const now = this.clock();
    // Keys are opened before they are installed, so a request never sees a row it cannot sign with.
    let caRows = await this.loadRows(CA_PURPOSE);
    // the stored CAs first: one of another trust domain (or a key that does not open them) stops the start before a new CA is stored
    this.openCas(caRows);
    const caMake = this.caPlan(now, caRows).make;
    if (caMake) {
      const id = this.newKeyId(CA_PURPOSE, caRows, caMake.activatesAt);
      await this.keys.getOrCreate(id, () => this.makeCa(id, caMake.activatesAt));
      caRows = await this.loadRows(CA_PURPOSE);
    }
    this.openCas(caRows);
    this.caRows = caRows;

    let jwtRows = await this.loadRows(JWT_PURPOSE);
    const jwtMake = this.jwtPlan(now, jwtRows).make;
    if (jwtMake) {
      const algorithm = this.settings.jwtAlgorithm;
      const id = this.newKeyId(`${JWT_PURPOSE}/${algorithm}`, jwtRows.filter((r) => r.algorithm === algorithm), jwtMake.activatesAt);
      await this.keys.getOrCreate(id, () => this.makeJwtKey(id, jwtMake.activatesAt));
      jwtRows = await this.loadRows(JWT_PURPOSE);
    }
    this.openJwtKeys(jwtRows);
    this.jwtRows = jwtRows;
    await this.sealStaleKeys();
  }

  /**
   * Opens a stored key with the key ring; one stored in plaintext (before a
   * key-encryption key was set) or under a previous key is queued to be
   * sealed again. No key opening it stops the start with one line.
   */
  private open(stored: StoredKey): string {
    try {
      const { pem, stale } = openWithKeyRing(stored.privateKey, stored.encrypted, this.ring);
      if (stale) this.stale.push({ stored, pem });
      return pem;
    } catch (error) {
      const source = this.settings.keyEncryptionKeySource ?? 'the settings';
      throw new SettingsError(
        `keyEncryptionKey (${envName('keyEncryptionKey')}): the key from ${source} does not open the stored key ${stored.id} ` +
          `(${(error as Error).message.replace(/^kek: /, '')}); give the key it was sealed with, as keyEncryptionKey or, to move to a new key, as keyEncryptionKeyPrevious (${envName('keyEncryptionKeyPrevious')})`,
      );
    }
  }

  /** Seals the queued keys with the current key-encryption key; the row changes only if no replica did it first. */
  private async sealStaleKeys(): Promise<void> {
    const sealed: { id: string; was: string }[] = [];
    while (this.stale.length > 0) {
      const { stored, pem } = this.stale[0]!;
      if (await this.keys.reseal(stored.id, stored.privateKey, sealPrivateKey(pem, this.ring.current).sealed)) {
        sealed.push({ id: stored.id, was: stored.encrypted ? 'sealed with a previous key' : 'plaintext' });
      }
      this.stale.shift();
    }
    if (sealed.length > 0) {
      this.logger.info({ keys: sealed, keyEncryptionKey: this.settings.keyEncryptionKeySource }, `identity: sealed ${sealed.length} stored keys with the current key-encryption key`);
    }
  }

  private async loadRows(purpose: string): Promise<Row[]> {
    return (await this.keys.byPurpose(purpose)).map(toRow);
  }

  /**
   * The first key of a kind has a fixed id, so replicas starting together
   * on an empty database make one key between them; later ones are named by
   * the time they activate, which every replica computes alike.
   */
  private newKeyId(prefix: string, existing: readonly Row[], activatesAt: Date): string {
    if (prefix === CA_PURPOSE && existing.length === 0) return FIRST_CA_KEY_ID;
    return existing.length === 0 ? `${prefix}/1` : `${prefix}/${activatesAt.getTime()}`;
  }

  private makeCa(id: string, activatesAt: Date): StoredKey {
    // The certificate is valid from the moment it is made, so it can be
    // published (and trusted) before it signs.
    const made = generateCaKey(this.settings.trustDomain, this.clock(), this.settings.caTtlSeconds);
    const sealed = sealPrivateKey(made.privateKeyPem, this.ring.current);
    const notBefore = activatesAt < made.notBefore ? made.notBefore : activatesAt;
    this.logger.info({ keyId: id, activatesAt: notBefore.toISOString(), notAfter: made.notAfter.toISOString() }, 'identity: CA key made');
    return storedKey(id, CA_PURPOSE, CA_ALGORITHM, made.certificatePem, {}, sealed, notBefore, made.notAfter);
  }

  private async makeJwtKey(id: string, activatesAt: Date): Promise<StoredKey> {
    const alg = this.settings.jwtAlgorithm;
    const { privateKey, publicKey } =
      alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const exported = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(exported, 'sha256');
    const publicJwk: JWK = { ...exported, kid, alg, use: 'sig' };
    const sealed = sealPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), this.ring.current);
    // Tokens signed up to the end of its period live jwtSvidTtl longer.
    const notAfter = new Date(activatesAt.getTime() + (this.settings.jwtKeyRotationSeconds + this.settings.jwtSvidTtlSeconds) * 1000);
    this.logger.info({ keyId: id, kid, alg, activatesAt: activatesAt.toISOString(), notAfter: notAfter.toISOString() }, 'identity: JWT-SVID key made');
    return storedKey(id, JWT_PURPOSE, alg, null, publicJwk, sealed, activatesAt, notAfter);
  }

  private openCas(rows: readonly Row[]): void {
    for (const row of rows) {
      if (this.cas.has(row.id)) continue;
      const certificatePem = row.stored.certificate ?? '';
      const privateKey = this.open(row.stored);
      const authority = new PublishingAuthority({ certificatePem, privateKey }, () => this.bundlePem());
      // Its SVIDs would all be refused by the CA (a 500 for every login): stop instead, saying what to do.
      if (authority.trustDomain !== this.settings.trustDomain) throw trustDomainChanged(authority.trustDomain, this.settings.trustDomain);
      this.cas.set(row.id, { certificatePem: certificatePem.trimEnd() + '\n', authority });
    }
  }

  private openJwtKeys(rows: readonly Row[]): void {
    for (const row of rows) {
      if (this.jwtKeys.has(row.id)) continue;
      const privateKey = createPrivateKey(this.open(row.stored));
      const publicJwk = row.stored.publicJwk as JWK;
      // The stored JWK must be this private key's public half.
      const derived = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
      if (derived.n !== publicJwk.n || derived.x !== publicJwk.x || derived.y !== publicJwk.y) {
        throw new Error(`identity: stored public key of ${row.id} does not match its private key`);
      }
      this.jwtKeys.set(row.id, { kid: String(publicJwk.kid), alg: row.algorithm, privateKey, publicJwk });
    }
  }

  private caPlan(now = this.clock(), rows = this.caRows): KeyPlan<Row> {
    return planKeys(rows, now, { periodSeconds: this.settings.caRotationSeconds, algorithm: CA_ALGORITHM });
  }

  private jwtPlan(now = this.clock(), rows = this.jwtRows): KeyPlan<Row> {
    return planKeys(rows, now, { periodSeconds: this.settings.jwtKeyRotationSeconds, algorithm: this.settings.jwtAlgorithm });
  }
}

/** A key's notAfter as a gauge value in Unix seconds; nothing while no key signs. */
function expiryObservation(notAfter: Date | undefined): { labels: Record<string, string>; value: number }[] {
  return notAfter ? [{ labels: {}, value: Math.floor(notAfter.getTime() / 1000) }] : [];
}

function toRow(stored: StoredKey): Row {
  return { id: stored.id, algorithm: stored.algorithm, activatesAt: stored.notBefore, notAfter: stored.notAfter, stored };
}

function storedKey(
  id: string,
  purpose: string,
  algorithm: string,
  certificate: string | null,
  publicJwk: object,
  sealed: { sealed: string; encrypted: boolean },
  notBefore: Date,
  notAfter: Date,
): StoredKey {
  return { id, purpose, algorithm, certificate, publicJwk, privateKey: sealed.sealed, encrypted: sealed.encrypted, notBefore, notAfter };
}

/** The configured trust domain is not the stored CA's: a trust domain cannot change under its agents. */
function trustDomainChanged(stored: string, configured: string): SettingsError {
  return new SettingsError(
    `trustDomain (${envName('trustDomain')}): is "${configured}", but the database holds the CA of trust domain "${stored}" and a trust domain cannot change; ` +
      `set ${envName('trustDomain')}=${stored}, or give "${configured}" a database of its own`,
  );
}
