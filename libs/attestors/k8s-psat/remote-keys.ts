import { usableKeys, type SignatureKey } from './signature-key';

/** Unknown `kid`s refetch a cluster's JWKS at most this often. */
export const REFRESH_INTERVAL_MS = 60_000;

/**
 * Fetches a JWKS document from a cluster's `jwksUri`. Throws
 * DependencyUnavailable when the URI cannot be reached or does not answer
 * with a key set: the login then fails closed with 503.
 */
export interface JwksSource {
  fetchKeys(jwksUri: string): Promise<unknown>;
}

interface FetchedSet {
  keys: Map<string, SignatureKey>;
  fetchedAt: number;
}

/**
 * The key sets behind `jwksUri`s, fetched on first use and kept. A `kid`
 * the cached set lacks refetches it (clusters rotate their signing keys),
 * but at most once a minute per URI, so tokens with made-up `kid`s cannot
 * make the server hammer an API server. Concurrent fetches of one URI share
 * one request; a failed fetch is not remembered.
 */
export class RemoteKeySets {
  private readonly sets = new Map<string, FetchedSet>();
  private readonly inFlight = new Map<string, Promise<FetchedSet>>();

  constructor(
    private readonly source: JwksSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key `kid` names at `jwksUri`, or null when there is none (after at most one refetch). */
  async key(jwksUri: string, kid: string): Promise<SignatureKey | null> {
    let set = this.sets.get(jwksUri) ?? (await this.fetch(jwksUri));
    if (!set.keys.has(kid) && this.now() - set.fetchedAt >= REFRESH_INTERVAL_MS) set = await this.fetch(jwksUri);
    return set.keys.get(kid) ?? null;
  }

  private fetch(jwksUri: string): Promise<FetchedSet> {
    const running = this.inFlight.get(jwksUri);
    if (running) return running;
    const promise = (async () => {
      try {
        const set = { keys: usableKeys(await this.source.fetchKeys(jwksUri)), fetchedAt: this.now() };
        this.sets.set(jwksUri, set);
        return set;
      } finally {
        this.inFlight.delete(jwksUri);
      }
    })();
    this.inFlight.set(jwksUri, promise);
    return promise;
  }
}
