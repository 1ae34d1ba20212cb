import { KeySetCache } from '../key-set-cache';
import { usableKeys, type SignatureKey } from './signature-key';

export { REFRESH_INTERVAL_MS } from '../key-set-cache';

/**
 * Fetches a JWKS document from a cluster's `jwksUri`. Throws
 * DependencyUnavailable when the URI cannot be reached or does not answer
 * with a key set: the login then fails closed with 503.
 */
export interface JwksSource {
  fetchKeys(jwksUri: string): Promise<unknown>;
}

/** The key sets behind clusters' `jwksUri`s (see KeySetCache for when they are refetched). */
export class RemoteKeySets extends KeySetCache<SignatureKey> {
  constructor(source: JwksSource, now?: () => number) {
    super(async (jwksUri) => usableKeys(await source.fetchKeys(jwksUri)), now);
  }
}
