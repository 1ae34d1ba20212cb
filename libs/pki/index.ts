// Public API of the pki lib: CSR intake, the trust-domain CA, SVID checks,
// SPIFFE IDs and keys at rest. DER/PEM helpers stay internal.

export {
  BACKDATE_SECONDS,
  CertificateAuthority,
  generateCaKey,
  newSvidSerial,
  type CertificateAuthorityOptions,
  type GeneratedCa,
  type IssueX509SvidRequest,
  type IssuedX509Svid,
} from './ca';
export { CsrRejected, MAX_CSR_PEM_BYTES, parseCsr, type ParsedCsr } from './csr';
export { isJwsAlgorithm, JWS_ALGORITHMS, jwsSign, jwsVerifies, type JwsAlgorithm } from './jws';
export { MIN_RSA_BITS } from './key-policy';
export { keyDetailsOf } from './spki';
export {
  KEK_BYTES,
  openPrivateKey,
  openWithKeyRing,
  parseKek,
  sealPrivateKey,
  type KeyRing,
  type SealedKey,
} from './key-encryption';
export { InvalidSpiffeId, isValidSpiffeId, isValidTrustDomain, parseSpiffeId, type SpiffeId } from './spiffe-id';
export { SvidRejected, verifySvidChain, type VerifiedSvid } from './svid';
export { VerifiedSvidCache } from './svid-cache';
export { spiffeBundle, type BundleContents, type SpiffeBundle, type SpiffeBundleKey } from './spiffe-bundle';
