import type { FactoryProvider } from '@nestjs/common';
import type { Logger } from 'pino';
import { JwtSvidSigner, KeyCustody, TrustDomainKeys, type KeyLog, type KeyStore, type StoredKey } from '@libs/keys';
import { KeysRepository } from '@libs/persistence';
import { LOGGER } from '../logging/logger';
import { LoginIdCodec } from '@libs/login';
import { SETTINGS } from '../settings/settings.module';
import { envName, SettingsError, type Settings } from '../settings/settings';
import { AdminActorIds } from './admin-actor-ids';

/** The identity keys' clock; tests inject one to walk through a rotation. */
export const IDENTITY_CLOCK = Symbol('IDENTITY_CLOCK');
export type Clock = () => Date;

const LOGIN_MAC_KEY_ID = 'login-mac/1';
const ADMIN_ACTOR_KEY_ID = 'admin-actor-mac/1';

type CustodySettings = Pick<Settings, 'keyEncryptionKey' | 'keyEncryptionKeySource' | 'previousKeyEncryptionKeys'>;

/**
 * Keys at rest, sealed with the key-encryption key; a stored key no key of
 * the ring opens stops the start with one line naming the settings to give.
 */
export function keyCustody(store: KeyStore, settings: CustodySettings, log: KeyLog): KeyCustody {
  // settings require one on PostgreSQL and the start settles one for the embedded database (custody/key-custody.ts)
  if (!settings.keyEncryptionKey) throw new Error('identity: no key-encryption key was settled');
  const source = settings.keyEncryptionKeySource;
  return new KeyCustody(store, {
    ring: { current: settings.keyEncryptionKey, previous: settings.previousKeyEncryptionKeys.map((p) => p.key) },
    ...(source !== undefined && { source }),
    log,
    cannotOpen: (stored: StoredKey, reason: string) =>
      new SettingsError(
        `keyEncryptionKey (${envName('keyEncryptionKey')}): the key from ${source ?? 'the settings'} does not open the stored key ${stored.id} ` +
          `(${reason}); give the key it was sealed with, as keyEncryptionKey or, to move to a new key, as keyEncryptionKeyPrevious (${envName('keyEncryptionKeyPrevious')})`,
      ),
  });
}

/** The login-ID MAC key: a server secret, made once and shared by every replica. */
export async function loginIdCodec(custody: KeyCustody): Promise<LoginIdCodec> {
  return new LoginIdCodec(await custody.secret(LOGIN_MAC_KEY_ID, 'login-mac'));
}

/** The admin-actor MAC key: a server secret, made once and shared by every replica. */
export async function adminActorIds(custody: KeyCustody): Promise<AdminActorIds> {
  return new AdminActorIds(await custody.secret(ADMIN_ACTOR_KEY_ID, 'admin-actor-mac'));
}

/**
 * The identity module's providers. The server secrets are opened while the
 * module is built, before the first rotation (`KeyRotationTimer`), so the
 * rotation's re-seal covers them too.
 */
export const identityProviders: FactoryProvider[] = [
  {
    provide: KeyCustody,
    inject: [KeysRepository, SETTINGS, LOGGER],
    useFactory: (keys: KeysRepository, settings: Settings, logger: Logger) => keyCustody(keys, settings, logger),
  },
  { provide: LoginIdCodec, inject: [KeyCustody], useFactory: loginIdCodec },
  { provide: AdminActorIds, inject: [KeyCustody], useFactory: adminActorIds },
  {
    provide: TrustDomainKeys,
    inject: [SETTINGS, KeyCustody, LOGGER, { token: IDENTITY_CLOCK, optional: true }],
    useFactory: (settings: Settings, custody: KeyCustody, logger: Logger, clock?: Clock) =>
      new TrustDomainKeys(settings, custody, logger, clock),
  },
  {
    provide: JwtSvidSigner,
    inject: [TrustDomainKeys, SETTINGS],
    useFactory: (keys: TrustDomainKeys, settings: Settings) => new JwtSvidSigner(keys.jwtKeys, settings),
  },
];
