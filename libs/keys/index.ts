// Public API of the key lib: the trust domain's rotating keys (CA and
// JWT-SVID keys, one mechanism), the JWT-SVID signer, and keys at rest
// (custody: sealing, re-sealing, server secrets). Pure but for its ports.

export { caKeys, CA_PURPOSE, TrustDomainChanged, type LoadedCa } from './ca-keys';
export { jwtKeys, JWT_PURPOSE, type JwtAlgorithm, type LoadedJwtKey } from './jwt-keys';
export { JwtSvidSigner, type JwtSvidSettings } from './jwt-svid-signer';
export { KeyCustody, storedKey, type KeyCustodyOptions } from './key-custody';
export { planKeys, tickMilliseconds, type KeyPlan, type Rotation, type ScheduledKey } from './key-schedule';
export type { KeyLog, KeyStore, StoredKey } from './key-store';
export { RotatingKeys, type KeyKind } from './rotating-keys';
export { TrustDomainKeys, type TrustDomainKeySettings } from './trust-domain-keys';
