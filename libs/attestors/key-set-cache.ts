/** Unknown `kid`s refetch a key set at most this often (attestors.md). */
export const REFRESH_INTERVAL_MS = 60_000;

interface FetchedSet<K> {
  keys: Map<string, K>;
  fetchedAt: number;
}

/**
 * Signing-key sets by source (a tenant, a JWKS URI), fetched on first use
 * and kept. A `kid` the cached set lacks refetches it (issuers roll keys),
 * but at most once a minute per source, so tokens with made-up `kid`s cannot
 * make the server hammer an issuer. Concurrent fetches of one source share
 * one request; a failed fetch is not remembered.
 */
export class KeySetCache<K> {
  private readonly sets = new Map<string, FetchedSet<K>>();
  private readonly inFlight = new Map<string, Promise<FetchedSet<K>>>();

  constructor(
    private readonly load: (source: string) => Promise<Map<string, K>>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key `kid` names in the source's set, or null when there is none (after at most one refetch). */
  async key(source: string, kid: string): Promise<K | null> {
    let set = this.sets.get(source) ?? (await this.fetch(source));
    if (!set.keys.has(kid) && this.now() - set.fetchedAt >= REFRESH_INTERVAL_MS) set = await this.fetch(source);
    return set.keys.get(kid) ?? null;
  }

  private fetch(source: string): Promise<FetchedSet<K>> {
    const running = this.inFlight.get(source);
    if (running) return running;
    const promise = (async () => {
      try {
        const set = { keys: await this.load(source), fetchedAt: this.now() };
        this.sets.set(source, set);
        return set;
      } finally {
        this.inFlight.delete(source);
      }
    })();
    this.inFlight.set(source, promise);
    return promise;
  }
}
